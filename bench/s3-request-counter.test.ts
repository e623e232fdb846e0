import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { S3RequestCounter, s3Operation } from './s3-request-counter.js';

/**
 * The ground truth is the AWS SDK itself: each command below is sent through
 * the counter to a stub upstream on 127.0.0.1, and the counter must name the
 * request after the command that made it. (The stub's answers are not valid
 * S3 replies for every command; the SDK's complaint about that is ignored, the
 * request was made.)
 */
describe('S3RequestCounter', () => {
  let upstream: http.Server;
  let counter: S3RequestCounter;
  let client: S3Client;
  const received: { method: string; url: string; body: Buffer; host: string }[] = [];
  const GET_BODY = Buffer.from('object bytes, unchanged');

  before(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks), host: req.headers.host ?? '' });
        const u = new URL(req.url!, 'http://stub.invalid');
        const objectGet = u.pathname.split('/').filter(Boolean).length >= 2 && !u.searchParams.has('uploadId');
        if (req.method === 'GET' && objectGet) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GET_BODY.length, etag: '"e"' });
          res.end(GET_BODY);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/xml', etag: '"e"' });
        res.end(req.method === 'HEAD' ? undefined : '<?xml version="1.0" encoding="UTF-8"?><Result></Result>');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    counter = await S3RequestCounter.start(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    client = new S3Client({
      endpoint: counter.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await counter.stop();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const B = 'bkt';
  const cases: [string, () => object][] = [
    ['HeadBucket', () => new HeadBucketCommand({ Bucket: B })],
    ['HeadObject', () => new HeadObjectCommand({ Bucket: B, Key: 'a/b' })],
    ['GetObject', () => new GetObjectCommand({ Bucket: B, Key: 'a/b' })],
    ['PutObject', () => new PutObjectCommand({ Bucket: B, Key: 'a/b', Body: 'put body' })],
    ['CopyObject', () => new CopyObjectCommand({ Bucket: B, Key: 'a/c', CopySource: `${B}/a/b` })],
    ['ListObjectsV2', () => new ListObjectsV2Command({ Bucket: B, Prefix: 'a/' })],
    ['DeleteObject', () => new DeleteObjectCommand({ Bucket: B, Key: 'a/b' })],
    ['DeleteObjects', () => new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'a/b' }] } })],
    ['CreateMultipartUpload', () => new CreateMultipartUploadCommand({ Bucket: B, Key: 'a/m' })],
    ['UploadPart', () => new UploadPartCommand({ Bucket: B, Key: 'a/m', UploadId: 'u1', PartNumber: 1, Body: 'part' })],
    ['UploadPartCopy', () => new UploadPartCopyCommand({ Bucket: B, Key: 'a/m', UploadId: 'u1', PartNumber: 2, CopySource: `${B}/a/b` })],
    ['CompleteMultipartUpload', () => new CompleteMultipartUploadCommand({ Bucket: B, Key: 'a/m', UploadId: 'u1', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"e"' }] } })],
    ['AbortMultipartUpload', () => new AbortMultipartUploadCommand({ Bucket: B, Key: 'a/m', UploadId: 'u1' })],
    ['ListParts', () => new ListPartsCommand({ Bucket: B, Key: 'a/m', UploadId: 'u1' })],
    ['ListMultipartUploads', () => new ListMultipartUploadsCommand({ Bucket: B })],
  ];

  for (const [name, make] of cases) {
    test(`names a ${name} request ${name}`, { timeout: 10_000 }, async () => {
      const base = counter.snapshot();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one loop over commands of different input and output types
      await client.send(make() as any).catch(() => undefined);
      assert.deepEqual(counter.since(base), { [name]: 1 });
    });
  }

  test('passes request and response bodies and the Host header through unchanged', { timeout: 10_000 }, async () => {
    received.length = 0;
    await client.send(new PutObjectCommand({ Bucket: B, Key: 'x/y', Body: 'exact bytes' }));
    assert.equal(received[0]?.body.toString(), 'exact bytes');
    // SigV4 signs the host the client addressed: the upstream must see that one.
    assert.equal(received[0]?.host, new URL(counter.url).host);
    const got = await client.send(new GetObjectCommand({ Bucket: B, Key: 'x/y' }));
    assert.equal(await got.Body!.transformToString(), GET_BODY.toString());
  });
});

describe('s3Operation', () => {
  // Request shapes from the S3 API Reference, e.g.
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html (PUT /Key?partNumber&uploadId + x-amz-copy-source).
  test('tells a part copy from a part upload and a copy from a put by x-amz-copy-source', () => {
    assert.equal(s3Operation('PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'b/s' }), 'UploadPartCopy');
    assert.equal(s3Operation('PUT', '/b/k?partNumber=1&uploadId=u', {}), 'UploadPart');
    assert.equal(s3Operation('PUT', '/b/k', { 'x-amz-copy-source': 'b/s' }), 'CopyObject');
    assert.equal(s3Operation('PUT', '/b/k', {}), 'PutObject');
  });

  test('tells bucket requests from object requests by the path', () => {
    assert.equal(s3Operation('HEAD', '/b', {}), 'HeadBucket');
    assert.equal(s3Operation('HEAD', '/b/k', {}), 'HeadObject');
    assert.equal(s3Operation('GET', '/b?list-type=2&prefix=p', {}), 'ListObjectsV2');
    assert.equal(s3Operation('GET', '/b/?uploads', {}), 'ListMultipartUploads');
    assert.equal(s3Operation('GET', '/b/k?uploadId=u', {}), 'ListParts');
    assert.equal(s3Operation('POST', '/b?delete', {}), 'DeleteObjects');
  });
});
