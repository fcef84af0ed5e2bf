/**
 * HTML for the demo: every value from a user goes through `escapeHtml`.
 * @module
 */

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** `text` safe to put in HTML content and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!)
}

/** A whole page. `body` must already be escaped HTML. */
export function page(title: string, body: string, footer: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · tessera demo</title>
</head>
<body>
<main>
${body}
</main>
<footer><p>${footer}</p></footer>
</body>
</html>
`
}
