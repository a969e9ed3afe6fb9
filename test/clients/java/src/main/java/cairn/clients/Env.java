package cairn.clients;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/** What every check reads from its environment, and small helpers they share. */
final class Env {
    final String endpoint;
    final String accessKey;
    final String secretKey;
    final String region;
    final String bucket;

    private Env(String endpoint, String accessKey, String secretKey, String region, String bucket) {
        this.endpoint = endpoint;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.region = region;
        this.bucket = bucket;
    }

    /** EP, AK, SK, REGION and BUCKET, as test/e2e sets them. */
    static Env fromEnvironment() {
        return new Env(need("EP"), need("AK"), need("SK"), need("REGION"), need("BUCKET"));
    }

    private static String need(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalStateException("environment variable " + name + " is not set");
        }
        return v;
    }

    /** Deterministic pseudo-random bytes. */
    static byte[] pattern(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    /** Fails with what is wrong unless got equals want. */
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static void sameBytes(byte[] got, byte[] want, String what) {
        check(java.util.Arrays.equals(got, want), what + ": got " + got.length + " bytes (sha256 " + sha256(got)
                + "), want " + want.length + " bytes (sha256 " + sha256(want) + ")");
    }

    /** An HTTP request with no credentials of its own, as a presigned URL's user makes it. */
    static byte[] plainRequest(URL url, String method, byte[] body, int wantStatus) throws IOException {
        HttpURLConnection c = (HttpURLConnection) url.openConnection();
        c.setRequestMethod(method);
        if (body != null) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(body.length);
            try (var out = c.getOutputStream()) {
                out.write(body);
            }
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        byte[] got = in == null ? new byte[0] : readAll(in);
        check(status == wantStatus, method + " " + url + ": status " + status + ", want " + wantStatus + ": "
                + new String(got, java.nio.charset.StandardCharsets.UTF_8));
        return got;
    }
}
