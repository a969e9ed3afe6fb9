package cairn.clients;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetBucketAclResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.Permission;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.PresignedGetObjectRequest;
import software.amazon.awssdk.services.s3.presigner.model.PresignedPutObjectRequest;

/**
 * The AWS SDK for Java v2 against a Cairn gateway, with the SDK's default
 * settings (its default request checksums included): bucket calls, PUT and
 * GET, a multipart upload, paged listings, batch delete and presigned URLs.
 */
public final class JavaV2 {
    public static void main(String[] args) throws Exception {
        Env env = Env.fromEnvironment();
        StaticCredentialsProvider creds = StaticCredentialsProvider.create(
                AwsBasicCredentials.create(env.accessKey, env.secretKey));
        URI endpoint = URI.create(env.endpoint);
        Region region = Region.of(env.region);
        String bucket = env.bucket;
        try (S3Client s3 = S3Client.builder().endpointOverride(endpoint).region(region).credentialsProvider(creds)
                .forcePathStyle(true).build();
             S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint).region(region)
                .credentialsProvider(creds)
                .serviceConfiguration(software.amazon.awssdk.services.s3.S3Configuration.builder()
                        .pathStyleAccessEnabled(true).build())
                .build()) {
            try {
                s3.headBucket(b -> b.bucket(bucket));
                throw new AssertionError("headBucket(" + bucket + ") before creating it succeeded");
            } catch (NoSuchBucketException e) {
                Env.check(e.statusCode() == 404, "headBucket of a missing bucket: " + e.statusCode());
            }
            s3.createBucket(b -> b.bucket(bucket));
            s3.headBucket(b -> b.bucket(bucket));
            GetBucketAclResponse acl = s3.getBucketAcl(b -> b.bucket(bucket));
            Env.check(acl.grants().size() == 1 && acl.grants().get(0).permission() == Permission.FULL_CONTROL,
                    "bucket ACL: " + acl.grants());

            byte[] body = Env.pattern(81, 2 << 20);
            s3.putObject(b -> b.bucket(bucket).key("v2/two-mib").contentType("application/x-cairn-test")
                    .metadata(java.util.Map.of("origin", "java-v2")), RequestBody.fromBytes(body));
            HeadObjectResponse head = s3.headObject(b -> b.bucket(bucket).key("v2/two-mib"));
            Env.check(head.contentLength() == body.length, "HEAD length " + head.contentLength());
            Env.check("java-v2".equals(head.metadata().get("origin")), "HEAD metadata " + head.metadata());
            Env.sameBytes(s3.getObjectAsBytes(b -> b.bucket(bucket).key("v2/two-mib")).asByteArray(), body,
                    "GET v2/two-mib");
            byte[] ranged = s3.getObjectAsBytes(b -> b.bucket(bucket).key("v2/two-mib").range("bytes=100-199"))
                    .asByteArray();
            Env.sameBytes(ranged, java.util.Arrays.copyOfRange(body, 100, 200), "GET v2/two-mib bytes=100-199");

            // A multipart upload of three parts, each with the SDK's default checksum.
            String key = "v2/multipart";
            String uploadID = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
            int partSize = 5 << 20;
            byte[] whole = Env.pattern(82, 2 * partSize + 1234);
            List<CompletedPart> parts = new ArrayList<>();
            for (int n = 1, off = 0; off < whole.length; n++, off += partSize) {
                byte[] part = java.util.Arrays.copyOfRange(whole, off, Math.min(whole.length, off + partSize));
                int partNumber = n;
                String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadID).partNumber(partNumber),
                        RequestBody.fromBytes(part)).eTag();
                parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
            }
            String etag = s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadID)
                    .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build())).eTag();
            Env.check(etag.endsWith("-3\""), "multipart ETag " + etag + ", want 3 parts");
            Env.sameBytes(s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray(), whole, "GET " + key);

            for (int i = 0; i < 5; i++) {
                String k = "v2/small/" + i;
                s3.putObject(b -> b.bucket(bucket).key(k), RequestBody.fromString("small " + i));
            }
            List<String> listed = new ArrayList<>();
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix("v2/small/").maxKeys(2))
                    .contents()) {
                listed.add(o.key());
            }
            Env.check(listed.equals(List.of("v2/small/0", "v2/small/1", "v2/small/2", "v2/small/3", "v2/small/4")),
                    "paged listing: " + listed);

            // Presigned PUT and GET, used without credentials.
            byte[] shared = "shared through a presigned URL".getBytes(StandardCharsets.UTF_8);
            PresignedPutObjectRequest pput = presigner.presignPutObject(b -> b.signatureDuration(Duration.ofMinutes(10))
                    .putObjectRequest(p -> p.bucket(bucket).key("v2/presigned")));
            Env.plainRequest(pput.url(), "PUT", shared, 200);
            PresignedGetObjectRequest pget = presigner.presignGetObject(b -> b.signatureDuration(Duration.ofMinutes(10))
                    .getObjectRequest(g -> g.bucket(bucket).key("v2/presigned")));
            Env.sameBytes(Env.plainRequest(pget.url(), "GET", null, 200), shared, "presigned GET");

            List<ObjectIdentifier> ids = new ArrayList<>();
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket)).contents()) {
                ids.add(ObjectIdentifier.builder().key(o.key()).build());
            }
            Env.check(ids.size() == 8, "objects before delete: " + ids.size());
            DeleteObjectsResponse del = s3.deleteObjects(b -> b.bucket(bucket)
                    .delete(Delete.builder().objects(ids).build()));
            Env.check(del.deleted().size() == 8 && del.errors().isEmpty(),
                    "deleteObjects: deleted " + del.deleted().size() + ", errors " + del.errors());
            s3.deleteBucket(b -> b.bucket(bucket));
            try {
                s3.headBucket(b -> b.bucket(bucket));
                throw new AssertionError("headBucket(" + bucket + ") after deleting it succeeded");
            } catch (S3Exception e) {
                Env.check(e.statusCode() == 404, "headBucket of a deleted bucket: " + e.statusCode());
            }
        }
        System.out.println("java v2: ok");
    }

    private JavaV2() {
    }
}
