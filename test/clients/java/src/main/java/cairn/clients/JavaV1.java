package cairn.clients;

import com.amazonaws.HttpMethod;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.s3.AmazonS3;
import com.amazonaws.services.s3.AmazonS3Client;
import com.amazonaws.services.s3.AmazonS3ClientBuilder;
import com.amazonaws.services.s3.model.AccessControlList;
import com.amazonaws.services.s3.model.CannedAccessControlList;
import com.amazonaws.services.s3.model.GroupGrantee;
import com.amazonaws.services.s3.model.ListObjectsV2Result;
import com.amazonaws.services.s3.model.ObjectMetadata;
import com.amazonaws.services.s3.model.Permission;
import com.amazonaws.services.s3.model.S3ObjectSummary;
import com.amazonaws.services.s3.transfer.TransferManager;
import com.amazonaws.services.s3.transfer.TransferManagerBuilder;
import com.amazonaws.services.s3.transfer.Upload;
import java.io.ByteArrayInputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * The AWS SDK for Java v1 against a Cairn gateway: the client built as
 * Cairn's documentation builds it, doesBucketExistV2, single and multipart
 * PUTs, GETs, listings, ACL reads and a presigned GET.
 */
public final class JavaV1 {
    public static void main(String[] args) throws Exception {
        Env env = Env.fromEnvironment();

        // The client exactly as the documentation writes it.
        AWSCredentialsProvider credentials = new AWSStaticCredentialsProvider(new BasicAWSCredentials(
                env.accessKey, env.secretKey));
        String endpoint = env.endpoint;
        String region = env.region;
        AwsClientBuilder.EndpointConfiguration endpointConfiguration = new AwsClientBuilder.EndpointConfiguration(
                endpoint, region);
        @SuppressWarnings("static-access")
        AmazonS3 client = AmazonS3Client.builder()
                .standard()
                .withCredentials(credentials)
                .withEndpointConfiguration(endpointConfiguration)
                .disableChunkedEncoding()
                .enablePathStyleAccess()
                .build();
        exercise(client, env, "doc");

        // The same with the SDK's defaults (aws-chunked signed uploads).
        AmazonS3 defaults = AmazonS3ClientBuilder.standard()
                .withCredentials(credentials)
                .withEndpointConfiguration(endpointConfiguration)
                .enablePathStyleAccess()
                .build();
        exercise(defaults, env, "defaults");
        System.out.println("java v1: ok");
    }

    private static void exercise(AmazonS3 s3, Env env, String tag) throws Exception {
        String bucket = env.bucket + "-" + tag;
        Env.check(!s3.doesBucketExistV2(bucket), "doesBucketExistV2(" + bucket + ") before creating it: true");
        s3.createBucket(bucket);
        Env.check(s3.doesBucketExistV2(bucket), "doesBucketExistV2(" + bucket + ") after creating it: false");
        Env.check(s3.listBuckets().stream().anyMatch(b -> b.getName().equals(bucket)), "listBuckets lacks " + bucket);

        // The bucket ACL: the owner with full control, and nothing else.
        AccessControlList acl = s3.getBucketAcl(bucket);
        Env.check(acl.getGrantsAsList().size() == 1
                && acl.getGrantsAsList().get(0).getPermission() == Permission.FullControl,
                "bucket ACL: " + acl.getGrantsAsList());
        s3.setBucketAcl(bucket, CannedAccessControlList.Private);

        s3.putObject(bucket, "hello.txt", "hello from java v1");
        Env.check(s3.getObjectAsString(bucket, "hello.txt").equals("hello from java v1"), "getObjectAsString");
        Env.check(!s3.getObjectAcl(bucket, "hello.txt").getGrantsAsList().stream()
                .anyMatch(g -> g.getGrantee() == GroupGrantee.AllUsers), "object ACL grants AllUsers");

        byte[] body = Env.pattern(71, 3 << 20);
        ObjectMetadata md = new ObjectMetadata();
        md.setContentLength(body.length);
        md.setContentType("application/x-cairn-test");
        md.addUserMetadata("origin", "java-v1");
        s3.putObject(bucket, "dir/three-mib", new ByteArrayInputStream(body), md);
        ObjectMetadata head = s3.getObjectMetadata(bucket, "dir/three-mib");
        Env.check(head.getContentLength() == body.length, "HEAD length " + head.getContentLength());
        Env.check("java-v1".equals(head.getUserMetaDataOf("origin")), "HEAD x-amz-meta-origin " + head.getUserMetadata());
        Env.sameBytes(Env.readAll(s3.getObject(bucket, "dir/three-mib").getObjectContent()), body, "GET dir/three-mib");

        // TransferManager: a 17 MiB multipart upload in 5 MiB parts.
        byte[] big = Env.pattern(72, 17 << 20);
        TransferManager tm = TransferManagerBuilder.standard().withS3Client(s3)
                .withMultipartUploadThreshold(8L << 20).withMinimumUploadPartSize(5L << 20).build();
        ObjectMetadata bigMD = new ObjectMetadata();
        bigMD.setContentLength(big.length);
        Upload up = tm.upload(bucket, "dir/multipart", new ByteArrayInputStream(big), bigMD);
        String etag = up.waitForUploadResult().getETag();
        tm.shutdownNow(false);
        Env.check(etag.endsWith("-4"), "multipart ETag " + etag + ", want 4 parts");
        Env.sameBytes(Env.readAll(s3.getObject(bucket, "dir/multipart").getObjectContent()), big, "GET dir/multipart");

        List<String> keys = new ArrayList<>();
        ListObjectsV2Result page = s3.listObjectsV2(bucket, "dir/");
        for (S3ObjectSummary o : page.getObjectSummaries()) {
            keys.add(o.getKey());
        }
        Env.check(keys.equals(List.of("dir/multipart", "dir/three-mib")), "listObjectsV2 dir/: " + keys);

        Date expires = new Date(System.currentTimeMillis() + 10 * 60 * 1000);
        URL url = s3.generatePresignedUrl(bucket, "hello.txt", expires, HttpMethod.GET);
        byte[] got = Env.plainRequest(url, "GET", null, 200);
        Env.check(new String(got, StandardCharsets.UTF_8).equals("hello from java v1"), "presigned GET " + url);

        for (String k : List.of("hello.txt", "dir/three-mib", "dir/multipart")) {
            s3.deleteObject(bucket, k);
        }
        s3.deleteBucket(bucket);
        Env.check(!s3.doesBucketExistV2(bucket), "doesBucketExistV2(" + bucket + ") after deleting it: true");
        System.out.println("java v1 " + tag + ": ok");
    }

    private JavaV1() {
    }
}
