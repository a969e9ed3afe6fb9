// The AWS SDK for JavaScript v3 against a Cairn gateway, with the SDK's
// default settings (its default request checksums included): bucket and
// object calls, a multipart upload, the listing paginator, batch delete and
// presigned URLs from @aws-sdk/s3-request-presigner.
'use strict';

const { Readable } = require('stream');
const {
  S3Client, CreateBucketCommand, HeadBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, GetBucketAclCommand,
  DeleteObjectsCommand, DeleteBucketCommand, paginateListObjectsV2,
} = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');
const { cluster, pattern, check, sameBytes, plainRequest, run } = require('./check');

run(async () => {
  const c = cluster();
  const Bucket = c.bucket;
  const s3 = new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey },
  });
  const bytesOf = async (Key, Range) => {
    const out = await s3.send(new GetObjectCommand({ Bucket, Key, Range }));
    return Buffer.from(await out.Body.transformToByteArray());
  };

  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new HeadBucketCommand({ Bucket }));
  const acl = await s3.send(new GetBucketAclCommand({ Bucket }));
  check(acl.Grants.length === 1 && acl.Grants[0].Permission === 'FULL_CONTROL', `bucket ACL: ${JSON.stringify(acl.Grants)}`);

  const body = pattern(101, (3 << 20) + 5);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'v3/three-mib', Body: body, Metadata: { origin: 'js-v3' } }));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'v3/three-mib' }));
  check(head.ContentLength === body.length, `HEAD length ${head.ContentLength}`);
  check(head.Metadata.origin === 'js-v3', `HEAD metadata ${JSON.stringify(head.Metadata)}`);
  sameBytes(await bytesOf('v3/three-mib'), body, 'GET v3/three-mib');
  sameBytes(await bytesOf('v3/three-mib', 'bytes=-100'), body.subarray(body.length - 100), 'GET v3/three-mib bytes=-100');

  // A stream body of known length.
  const streamed = pattern(102, 1 << 20);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'v3/streamed', Body: Readable.from([streamed]), ContentLength: streamed.length }));
  sameBytes(await bytesOf('v3/streamed'), streamed, 'GET v3/streamed');

  // A multipart upload of three parts.
  const Key = 'v3/multipart';
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const partSize = 5 << 20;
  const whole = pattern(103, 2 * partSize + 999);
  const Parts = [];
  for (let n = 1, off = 0; off < whole.length; n++, off += partSize) {
    const out = await s3.send(new UploadPartCommand({
      Bucket, Key, UploadId, PartNumber: n, Body: whole.subarray(off, Math.min(whole.length, off + partSize)),
    }));
    Parts.push({ PartNumber: n, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32 });
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
  check(/-3"$/.test(done.ETag), `multipart ETag ${done.ETag}, want 3 parts`);
  sameBytes(await bytesOf(Key), whole, `GET ${Key}`);

  for (let i = 0; i < 5; i++) {
    await s3.send(new PutObjectCommand({ Bucket, Key: `v3/small/${i}`, Body: `small ${i}` }));
  }
  const listed = [];
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 2 }, { Bucket, Prefix: 'v3/small/' })) {
    (page.Contents || []).forEach((o) => listed.push(o.Key));
  }
  check(listed.join(',') === 'v3/small/0,v3/small/1,v3/small/2,v3/small/3,v3/small/4', `paged listing: ${listed}`);

  // Presigned PUT and GET, used without credentials.
  const shared = Buffer.from('shared through a presigned URL');
  const putURL = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'v3/presigned' }), { expiresIn: 600 });
  await plainRequest(putURL, 'PUT', shared, 200);
  const getURL = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'v3/presigned' }), { expiresIn: 600 });
  sameBytes(await plainRequest(getURL, 'GET', undefined, 200), shared, 'presigned GET');

  const keys = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket })) {
    (page.Contents || []).forEach((o) => keys.push({ Key: o.Key }));
  }
  check(keys.length === 9, `objects before delete: ${keys.length}`);
  const del = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
  check(del.Deleted.length === 9 && !(del.Errors && del.Errors.length), `deleteObjects: ${JSON.stringify(del.Errors)}`);
  await s3.send(new DeleteBucketCommand({ Bucket }));
  let status = 0;
  try {
    await s3.send(new HeadBucketCommand({ Bucket }));
  } catch (err) {
    status = err.$metadata && err.$metadata.httpStatusCode;
  }
  check(status === 404, `headBucket after deleteBucket: status ${status}, want 404`);
  console.log('js v3: ok');
});
