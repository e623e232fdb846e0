import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MAX_LIST_PAGES } from './s3-errors.js';
import type { Part } from './s3-staging.js';
import type { S3Driver } from './s3.js';

const MiB = 1024 * 1024;
/** S3's smallest multipart part (all but the last); lib-storage refuses smaller part sizes. */
export const MIN_MULTIPART_PART = 5 * MiB;
/** S3's largest single PUT, copy source or part. */
export const MAX_SINGLE_OBJECT = 5 * 1024 * MiB;
/** S3's largest part count per multipart upload. */
const MAX_MULTIPART_PARTS = 10_000;

/**
 * Writes the staging parts as the object `dst`, atomically: every path ends
 * in one request that makes the whole object appear (PutObject, CopyObject or
 * CompleteMultipartUpload), and a failed multipart upload is aborted.
 *
 * - no data (empty marker only): an empty PutObject;
 * - one part: CopyObject, server-side;
 * - parts that are valid multipart parts (all but the last >= 5 MiB):
 *   UploadPartCopy per part, server-side, no bytes through this node;
 * - otherwise (small appends): the parts streamed back to back through an Upload.
 * Then the size is checked with HeadObject (RGW's CompleteMultipartUpload
 * answers with an empty ETag, so its answer proves nothing).
 */
export async function assemble(d: S3Driver, parts: Part[], size: number, src: string, dst: string): Promise<void> {
  const Bucket = d.bucket;
  if (parts.length === 0) {
    await d.client.send(new PutObjectCommand({ Bucket, Key: dst, Body: Buffer.alloc(0), ContentLength: 0 }));
  } else if (parts.length === 1 && parts[0]!.size <= MAX_SINGLE_OBJECT) {
    await d.client.send(new CopyObjectCommand({ Bucket, Key: dst, CopySource: copySource(Bucket, parts[0]!.key) }));
  } else if (copyableAsParts(parts)) {
    await copyMultipart(d, parts, dst);
  } else {
    const upload = new Upload({
      client: d.client,
      params: { Bucket, Key: dst, Body: d.concat(src, parts, size) },
      partSize: Math.max(MIN_MULTIPART_PART, d.partSizeBytes),
      queueSize: d.concurrency,
      leavePartsOnError: false,
    });
    await upload.done();
  }
  const head = await d.client.send(new HeadObjectCommand({ Bucket, Key: dst }));
  if (head.ContentLength !== size) {
    throw new Error(`s3 commit ${src} -> ${dst}: stored ${head.ContentLength} bytes, staged ${size}`);
  }
}

function copyableAsParts(parts: Part[]): boolean {
  if (parts.length > MAX_MULTIPART_PARTS) return false;
  return parts.every(
    (p, i) => p.size <= MAX_SINGLE_OBJECT && (i === parts.length - 1 || p.size >= MIN_MULTIPART_PART),
  );
}

async function copyMultipart(d: S3Driver, parts: Part[], dst: string): Promise<void> {
  const Bucket = d.bucket;
  const created = await d.client.send(new CreateMultipartUploadCommand({ Bucket, Key: dst }));
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error(`s3 CreateMultipartUpload ${dst}: no UploadId`);
  try {
    const etags: string[] = new Array<string>(parts.length);
    await eachLimited(parts.length, d.concurrency, async (i) => {
      const res = await d.client.send(
        new UploadPartCopyCommand({ Bucket, Key: dst, UploadId, PartNumber: i + 1, CopySource: copySource(Bucket, parts[i]!.key) }),
      );
      const etag = res.CopyPartResult?.ETag;
      if (!etag) throw new Error(`s3 UploadPartCopy ${dst} part ${i + 1}: no ETag`);
      etags[i] = etag;
    });
    await d.client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: dst,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
  } catch (e) {
    // Best effort: what stays behind is invisible and abortStaleMultipartUploads removes it.
    await d.client.send(new AbortMultipartUploadCommand({ Bucket, Key: dst, UploadId })).catch(() => undefined);
    throw e;
  }
}

/**
 * Aborts the multipart uploads under `prefix` initiated before `cutoffMs`
 * (epoch ms): what a crash mid-put or mid-commit leaves, invisible but
 * holding storage. Returns how many it aborted.
 */
export async function abortStaleUploads(client: S3Client, bucket: string, prefix: string, cutoffMs: number): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const res = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    for (const u of res.Uploads ?? []) {
      if (u.Key === undefined || u.UploadId === undefined || u.Initiated === undefined) continue;
      if (u.Initiated.getTime() > cutoffMs) continue;
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      } catch (e) {
        if ((e as { name?: string }).name !== 'NoSuchUpload') throw e; // completed or aborted meanwhile
      }
    }
    if (!res.IsTruncated) break;
    keyMarker = res.NextKeyMarker;
    uploadIdMarker = res.NextUploadIdMarker;
  }
  return aborted;
}

/** x-amz-copy-source: bucket/key, URL-encoded per segment. */
function copySource(bucket: string, key: string): string {
  return `${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Runs fn(0..n-1) with at most `width` at once; waits for all, then throws the first failure. */
async function eachLimited(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < n && failure === undefined) {
      const i = next++;
      try {
        await fn(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  if (failure) throw failure.error;
}
