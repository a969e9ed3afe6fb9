// Helpers the client scripts share: the cluster they talk to, and checks
// that fail the script with what went wrong.
'use strict';

const crypto = require('crypto');

function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
}

// EP, AK, SK, REGION and BUCKET, as test/e2e sets them.
function cluster() {
  return {
    endpoint: env('EP'),
    accessKey: env('AK'),
    secretKey: env('SK'),
    region: env('REGION'),
    bucket: env('BUCKET'),
  };
}

// Deterministic pseudo-random bytes.
function pattern(seed, n) {
  const out = Buffer.alloc(n);
  let block = Buffer.from(String(seed));
  for (let off = 0; off < n; off += 32) {
    block = crypto.createHash('sha256').update(block).digest();
    block.copy(out, off, 0, Math.min(32, n - off));
  }
  return out;
}

function sha256(b) {
  return crypto.createHash('sha256').update(b).digest('hex');
}

function check(ok, what) {
  if (!ok) {
    throw new Error(what);
  }
}

function sameBytes(got, want, what) {
  check(Buffer.compare(Buffer.from(got), want) === 0,
    `${what}: got ${got.length} bytes (sha256 ${sha256(Buffer.from(got))}), want ${want.length} bytes (sha256 ${sha256(want)})`);
}

// A request with no credentials of its own, as a presigned URL's user makes it.
async function plainRequest(url, method, body, wantStatus) {
  const resp = await fetch(url, { method, body });
  const got = Buffer.from(await resp.arrayBuffer());
  check(resp.status === wantStatus, `${method} ${url}: status ${resp.status}, want ${wantStatus}: ${got.toString()}`);
  return got;
}

// Runs main and exits non-zero, with the error, when it fails.
function run(main) {
  main().then(() => process.exit(0), (err) => {
    console.error(err && err.stack ? err.stack : err);
    if (err && err.$response) {
      console.error('response:', err.$response.statusCode, JSON.stringify(err.$response.headers));
    }
    process.exit(1);
  });
}

module.exports = { cluster, pattern, check, sameBytes, plainRequest, run };
