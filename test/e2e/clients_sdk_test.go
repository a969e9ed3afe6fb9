package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// sdkRegion is the region of the cluster the SDK tests drive: a name no AWS
// SDK knows, as a Cairn region's is, so each SDK must sign for the region
// it is given.
const sdkRegion = "us-ashburn-1"

// TestJavaScriptSDKs drives a cluster with the AWS SDKs for JavaScript, v2
// (aws-sdk) and v3 (@aws-sdk/client-s3 with @aws-sdk/s3-request-presigner),
// at the versions test/clients/js/package.json pins (make jsclients). The
// v2 client is built exactly as Cairn's documentation builds it
// (s3ForcePathStyle, signatureVersion 'v4') and its getSignedUrl URLs are
// used without credentials. test/clients/js/sdk_v2.js and sdk_v3.js say
// what each checks.
func TestJavaScriptSDKs(t *testing.T) {
	node := requireInstalled(t, "Node.js", "jsclients", "node")
	modules := binPath("jsclients", "node_modules")
	for _, pkg := range []string{"aws-sdk", "@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"} {
		requireInstalled(t, pkg, "jsclients", filepath.Join(modules, pkg, "package.json"))
	}
	c := startCluster(t, harness.Options{Region: sdkRegion})
	scripts := filepath.Join(moduleRoot, "test", "clients", "js")
	for _, v := range []string{"v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			env := cleanEnv(t, append(clusterEnv(c, "js-"+v), "NODE_PATH="+modules,
				"AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1")...)
			out := runClient(t, 3*time.Minute, scripts, env, node, "sdk_"+v+".js")
			if !strings.Contains(out, "js "+v+": ok") {
				t.Fatalf("sdk_%s.js finished without its closing line:\n%s", v, out)
			}
		})
	}
}

// TestJavaSDKs drives a cluster with the AWS SDKs for Java, v1
// (aws-java-sdk-s3) and v2 (software.amazon.awssdk:s3), at the versions
// test/clients/java/pom.xml pins (make javaclients). The v1 client is built
// exactly as Cairn's documentation builds it (AmazonS3Client.builder() with
// an EndpointConfiguration), and doesBucketExistV2 must answer false for a
// missing bucket and true for an existing one. JavaV1.java and JavaV2.java
// say what each checks.
func TestJavaSDKs(t *testing.T) {
	java := requireInstalled(t, "Java", "javaclients", "java")
	cpFile := requireInstalled(t, "the AWS SDKs for Java", "javaclients", binPath("javaclients", "classpath.txt"))
	deps, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	classpath := binPath("javaclients", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(deps))
	c := startCluster(t, harness.Options{Region: sdkRegion})
	for _, v := range []string{"v1", "v2"} {
		t.Run(v, func(t *testing.T) {
			env := cleanEnv(t, append(clusterEnv(c, "java-"+v), "CLASSPATH="+classpath)...)
			out := runClient(t, 3*time.Minute, "", env, java, "cairn.clients.Java"+strings.ToUpper(v))
			if !strings.Contains(out, "java "+v+": ok") {
				t.Fatalf("Java%s finished without its closing line:\n%s", strings.ToUpper(v), out)
			}
		})
	}
}
