# workerd's configuration for the tutorial Worker: `npx workerd serve examples/workers/config.capnp`
# after bundling worker.ts to dist/worker.js (see README.md). The settings come from the
# environment of the workerd process.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .tutorial)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const tutorial :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "dist/worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "SECRET_KEY", fromEnvironment = "SECRET_KEY"),
    (name = "COOKIE_FORMAT", fromEnvironment = "COOKIE_FORMAT"),
    (name = "CRYPTO", fromEnvironment = "CRYPTO"),
  ],
);
