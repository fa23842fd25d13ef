// s3server.mjs PORT DIR [BUCKET]: a real S3-compatible server (s3rver) on
// 127.0.0.1 for the storage tests. PORT 0 picks a free port. Prints
// "listening PORT" on stdout once it accepts requests; stops on SIGTERM.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const S3rver = require('s3rver');

const [portArg, dir, bucket = 'bucket'] = process.argv.slice(2);
const server = new S3rver({
  port: Number(portArg || 0),
  address: '127.0.0.1',
  silent: true,
  directory: dir,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`listening ${port}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
