// Serves uploads with @tus/server, the tus project's reference server for Node,
// storing them with @tus/file-store under --directory, on 127.0.0.1 at a port the
// system picks. Driven by tests/e2e/tests/tus_interop.rs; the packages are loaded
// from the folder in TUS_SERVER_DIR (scripts/install-test-deps installs them,
// pinned, under target/tools/tus-server).
//
// Prints one JSON line on stdout once it listens:
//   {"event": "listening", "port": N, "endpoint": "http://127.0.0.1:N/files"}
// then one line per finished upload:
//   {"event": "finished", "id": ..., "size": N}
// Runs until stdin closes (the test dropped its end) or it is killed.

import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    directory: { type: 'string' }, // where @tus/file-store keeps the files
  },
})

const modules = join(process.env.TUS_SERVER_DIR, 'node_modules', '@tus')
const load = (name) => import(pathToFileURL(join(modules, name, 'dist', 'index.js')).href)
const { Server, EVENTS } = await load('server')
const { FileStore } = await load('file-store')

const emit = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }))

const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory: args.directory }),
})
server.on(EVENTS.POST_FINISH, (_req, _res, upload) => {
  emit('finished', { id: upload.id, size: upload.size })
})

const listener = server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const { port } = listener.address()
  emit('listening', { port, endpoint: `http://127.0.0.1:${port}/files` })
})

// The test holds our stdin: when it goes, so do we.
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
