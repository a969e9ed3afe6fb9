// The AWS SDK for JavaScript v2 against a Cairn gateway: the client built
// as Cairn's documentation builds it, bucket and object calls, a managed
// multipart upload, paged listings and presigned URLs from getSignedUrl.
'use strict';

const AWS = require('aws-sdk');
const { cluster, pattern, check, sameBytes, plainRequest, run } = require('./check');

run(async () => {
  const c = cluster();
  const bucket = c.bucket;

  // The client exactly as the documentation writes it.
  const s3 = new AWS.S3({
    region: c.region,
    endpoint: c.endpoint,
    accessKeyId: c.accessKey,
    secretAccessKey: c.secretKey,
    s3ForcePathStyle: true,
    signatureVersion: 'v4',
  });

  await s3.createBucket({ Bucket: bucket }).promise();
  await s3.headBucket({ Bucket: bucket }).promise();
  const buckets = await s3.listBuckets().promise();
  check(buckets.Buckets.some((b) => b.Name === bucket), `listBuckets lacks ${bucket}`);

  await s3.putObject({ Bucket: bucket, Key: 'hello.txt', Body: 'hello from js v2', ContentType: 'text/plain' }).promise();
  const hello = await s3.getObject({ Bucket: bucket, Key: 'hello.txt' }).promise();
  check(hello.Body.toString() === 'hello from js v2', `GET hello.txt: ${hello.Body}`);
  check(hello.ContentType === 'text/plain', `GET hello.txt Content-Type ${hello.ContentType}`);

  const body = pattern(91, (2 << 20) + 7);
  await s3.putObject({ Bucket: bucket, Key: 'data/two-mib', Body: body, Metadata: { origin: 'js-v2' } }).promise();
  const head = await s3.headObject({ Bucket: bucket, Key: 'data/two-mib' }).promise();
  check(head.ContentLength === body.length, `HEAD length ${head.ContentLength}`);
  check(head.Metadata.origin === 'js-v2', `HEAD metadata ${JSON.stringify(head.Metadata)}`);
  const part = await s3.getObject({ Bucket: bucket, Key: 'data/two-mib', Range: 'bytes=10-19' }).promise();
  sameBytes(part.Body, body.subarray(10, 20), 'GET data/two-mib bytes=10-19');

  // s3.upload: a managed multipart upload of 12 MiB in 5 MiB parts.
  const big = pattern(92, 12 << 20);
  const up = await s3.upload({ Bucket: bucket, Key: 'data/multipart', Body: big }, { partSize: 5 << 20, queueSize: 2 }).promise();
  check(/-3"?$/.test(up.ETag), `multipart ETag ${up.ETag}, want 3 parts`);
  sameBytes((await s3.getObject({ Bucket: bucket, Key: 'data/multipart' }).promise()).Body, big, 'GET data/multipart');

  for (let i = 0; i < 5; i++) {
    await s3.putObject({ Bucket: bucket, Key: `small/${i}`, Body: `small ${i}` }).promise();
  }
  const listed = [];
  let token;
  do {
    const page = await s3.listObjectsV2({ Bucket: bucket, Prefix: 'small/', MaxKeys: 2, ContinuationToken: token }).promise();
    page.Contents.forEach((o) => listed.push(o.Key));
    token = page.NextContinuationToken;
  } while (token);
  check(listed.join(',') === 'small/0,small/1,small/2,small/3,small/4', `paged listing: ${listed}`);

  // getSignedUrl, GET and PUT, used without credentials.
  const getURL = s3.getSignedUrl('getObject', { Bucket: bucket, Key: 'hello.txt', Expires: 600 });
  check(getURL.includes('X-Amz-Signature='), `getSignedUrl did not sign with v4: ${getURL}`);
  sameBytes(await plainRequest(getURL, 'GET', undefined, 200), Buffer.from('hello from js v2'), 'presigned GET');
  const shared = Buffer.from('uploaded through a presigned URL');
  const putURL = s3.getSignedUrl('putObject', { Bucket: bucket, Key: 'presigned', Expires: 600 });
  await plainRequest(putURL, 'PUT', shared, 200);
  sameBytes((await s3.getObject({ Bucket: bucket, Key: 'presigned' }).promise()).Body, shared, 'GET presigned');

  const all = await s3.listObjectsV2({ Bucket: bucket }).promise();
  check(all.KeyCount === 9, `objects before delete: ${all.KeyCount}`);
  const del = await s3.deleteObjects({
    Bucket: bucket,
    Delete: { Objects: all.Contents.map((o) => ({ Key: o.Key })) },
  }).promise();
  check(del.Deleted.length === 9 && del.Errors.length === 0, `deleteObjects: ${JSON.stringify(del)}`);
  await s3.deleteBucket({ Bucket: bucket }).promise();
  let missing = false;
  try {
    await s3.headBucket({ Bucket: bucket }).promise();
  } catch (err) {
    missing = err.statusCode === 404;
  }
  check(missing, 'headBucket after deleteBucket did not answer 404');
  console.log('js v2: ok');
});
