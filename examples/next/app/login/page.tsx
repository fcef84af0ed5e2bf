/**
 * `/login`: the form, posted to the `login` Server Action. It works without JavaScript too:
 * Next renders the action's id into the form as hidden fields.
 * @module
 */
import { login } from './actions'

export default function Login() {
  return (
    <form action={login}>
      <p>
        <input type="text" name="username" required />
      </p>
      <p>
        <input type="submit" value="Login" />
      </p>
    </form>
  )
}
