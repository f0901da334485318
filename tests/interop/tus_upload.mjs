// Uploads one photo to the bureau with tus-js-client, the tus project's JavaScript
// client, on Node. Driven by bureau/tests/tus_interop.rs; tus-js-client is loaded
// from the folder in TUS_JS_CLIENT_DIR (scripts/install-test-deps installs it, pinned,
// under target/tools/tus-js-client).
//
// Prints one JSON line per event on stdout:
//   {"event": "url", "url": ...}          the upload's URL is known (created or resumed)
//   {"event": "resumed", "offset": N}     a retry asked the server for the offset (HEAD)
//   {"event": "done", "url": ...}         all bytes are sent
//   {"event": "error", "message": ...}    then exits 1
// The client retries by itself after a failure (retryDelays), resuming from HEAD's offset.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string' }, // the creation URL, .../v1/uploads
    token: { type: 'string' },
    file: { type: 'string' },
    'photo-id': { type: 'string' },
    sha256: { type: 'string' }, // hex SHA-256 of the whole file
    'chunk-size': { type: 'string' }, // default: the whole file in one PATCH
    'data-during-creation': { type: 'boolean', default: false }, // creation-with-upload
  },
})

const require = createRequire(join(process.env.TUS_JS_CLIENT_DIR, 'package.json'))
const tus = require('tus-js-client')

const emit = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }))

const upload = new tus.Upload(readFileSync(args.file), {
  endpoint: args.endpoint,
  headers: { Authorization: `Bearer ${args.token}` },
  metadata: {
    photo_id: args['photo-id'],
    sha256: args.sha256,
    filename: basename(args.file),
    mime: 'image/jpeg',
  },
  chunkSize: args['chunk-size'] ? Number(args['chunk-size']) : Number.POSITIVE_INFINITY,
  uploadDataDuringCreation: args['data-during-creation'],
  retryDelays: [0, 200, 500, 1000, 2000],
  onUploadUrlAvailable: () => emit('url', { url: upload.url }),
  onAfterResponse: (req, res) => {
    if (req.getMethod() === 'HEAD') {
      emit('resumed', { offset: Number(res.getHeader('Upload-Offset')) })
    }
  },
  onSuccess: () => emit('done', { url: upload.url }),
  onError: (error) => {
    emit('error', { message: String(error) })
    process.exitCode = 1
  },
})
upload.start()
