package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The S3 credentials every target is started with.
const (
	accessKey = "cairn-bench-access"
	secretKey = "cairn-bench-secret-key"
)

// target is one system under comparison: how to start a fresh instance of
// it and which kinds of process it has.
type target struct {
	Key   string // the name in -targets and in the JSON samples
	Name  string // the column header
	Short string // the name in ratio headers
	Cairn bool   // ratios are Cairn targets over the others
	Kinds []string
	start func(ctx context.Context, dir, logDir string) (*instance, error)
}

// instance is a running target.
type instance struct {
	Endpoint string
	Procs    []proc
	stop     func() error
}

// targets is the table of every target this program knows, in run order.
func targets(cfg Config) []target {
	return []target{
		{Key: "dev", Name: "Cairn dev", Short: "dev", Cairn: true, Kinds: []string{"dev"},
			start: func(ctx context.Context, dir, logDir string) (*instance, error) {
				return startDev(ctx, cfg, dir, logDir)
			}},
		{Key: "cluster", Name: "Cairn cluster", Short: "cluster", Cairn: true, Kinds: []string{"gateway", "data", "meta"},
			start: func(ctx context.Context, dir, logDir string) (*instance, error) {
				return startCluster(ctx, cfg, dir, logDir)
			}},
		{Key: "minio", Name: "MinIO", Short: "MinIO", Kinds: []string{"server"},
			start: func(ctx context.Context, dir, logDir string) (*instance, error) {
				return startMinIO(ctx, cfg, dir, logDir)
			}},
		{Key: "seaweedfs", Name: "SeaweedFS", Short: "SeaweedFS", Kinds: []string{"server"},
			start: func(ctx context.Context, dir, logDir string) (*instance, error) {
				return startWeed(ctx, cfg, dir, logDir)
			}},
	}
}

// freePorts reserves n distinct loopback ports. They are released before
// use, so another process could take one in between; rare on loopback.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("benchcompare: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// single starts one server process and waits until it serves S3.
func single(ctx context.Context, cfg Config, kind, endpoint, bin string, args, env []string, logPath string) (*instance, error) {
	s, err := startServer(bin, args, env, logPath)
	if err != nil {
		return nil, err
	}
	inst := &instance{Endpoint: endpoint, Procs: []proc{{kind, s.pid()}}, stop: func() error { return s.stop(30 * time.Second) }}
	if err := waitReady(ctx, s, cfg.ReadyTimeout, probe(cfg, endpoint)); err != nil {
		_ = inst.stop()
		return nil, err
	}
	return inst, nil
}

// probe is one PUT through the load client: the same path every workload
// takes, so "ready" means ready for them.
func probe(cfg Config, endpoint string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, _, err := runBench(ctx, cfg, endpoint, []string{"--op", "put", "--size", "4KiB", "--count", "1", "--prefix", "probe/", "--verify"})
		return err
	}
}

func startDev(ctx context.Context, cfg Config, dir, logDir string) (*instance, error) {
	p, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	args := []string{"dev", "--listen", addr(p[0]), "--admin-addr", addr(p[1]), "--raft-addr", addr(p[2]),
		"--dir", dir, "--access-key", accessKey, "--secret-key", secretKey, "--log-level", "warn"}
	return single(ctx, cfg, "dev", "http://"+addr(p[0]), cfg.CairnBin, args, nil, filepath.Join(logDir, "dev.log"))
}

func startMinIO(ctx context.Context, cfg Config, dir, logDir string) (*instance, error) {
	p, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	args := []string{"server", "--address", addr(p[0]), "--console-address", addr(p[1]), "--quiet"}
	for i := 1; i <= 6; i++ {
		drive := filepath.Join(dir, fmt.Sprintf("drive%d", i))
		if err := os.MkdirAll(drive, 0o755); err != nil {
			return nil, fmt.Errorf("benchcompare: %w", err)
		}
		args = append(args, drive)
	}
	// Every target's store is on the machine's one disk. MinIO refuses
	// drives it takes for the root disk (and here its check fails as "drive
	// not found"); a threshold of one byte says no drive is one, and
	// changes nothing else (MINIO_CI_CD would also shrink its buffer pool).
	env := []string{"MINIO_ROOT_USER=" + accessKey, "MINIO_ROOT_PASSWORD=" + secretKey, "MINIO_ROOTDRIVE_THRESHOLD_SIZE=1B"}
	return single(ctx, cfg, "server", "http://"+addr(p[0]), cfg.MinIOBin, args, env, filepath.Join(logDir, "minio.log"))
}

func startWeed(ctx context.Context, cfg Config, dir, logDir string) (*instance, error) {
	// Every port explicit: the gRPC ones would otherwise be the HTTP ones
	// plus 10000, which nothing reserved.
	p, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("benchcompare: %w", err)
	}
	args := []string{"server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + dir, "-s3",
		"-master.port=" + strconv.Itoa(p[0]), "-master.port.grpc=" + strconv.Itoa(p[1]),
		"-volume.port=" + strconv.Itoa(p[2]), "-volume.port.grpc=" + strconv.Itoa(p[3]),
		"-filer.port=" + strconv.Itoa(p[4]), "-filer.port.grpc=" + strconv.Itoa(p[5]),
		"-s3.port=" + strconv.Itoa(p[6]), "-s3.port.grpc=" + strconv.Itoa(p[7]),
		// Side services of the S3 gateway, off so their fixed ports cannot
		// collide with anything; they do not touch the S3 path.
		"-s3.port.iceberg=0", "-s3.port.lance=0"}
	// weed's S3 gateway takes an admin identity from these.
	env := []string{"AWS_ACCESS_KEY_ID=" + accessKey, "AWS_SECRET_ACCESS_KEY=" + secretKey}
	return single(ctx, cfg, "server", "http://"+addr(p[6]), cfg.WeedBin, args, env, filepath.Join(logDir, "weed.log"))
}

// startCluster runs deploy/local/cluster.sh with its state in dir and the
// pids it records there.
func startCluster(ctx context.Context, cfg Config, dir, logDir string) (*instance, error) {
	p, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "CLUSTER_DIR="+dir, "CAIRN_BIN="+cfg.CairnBin, "CAIRNCTL_BIN="+cfg.CairnctlBin,
		"BASE_PORT="+strconv.Itoa(cfg.ClusterBasePort), "GATEWAY_ADDR="+addr(p[0]),
		"CAIRN_ACCESS_KEY="+accessKey, "CAIRN_SECRET_KEY="+secretKey, "CAIRN_LOG_LEVEL=warn")
	script := func(ctx context.Context, verb string) error {
		cmd := exec.CommandContext(ctx, cfg.ClusterScript, verb)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(logDir, "cluster-"+verb+".log"), out, 0o644)
		if err != nil {
			return fmt.Errorf("benchcompare: %s %s: %w\n%s", cfg.ClusterScript, verb, err, out)
		}
		return nil
	}
	stop := func() error {
		err := script(context.Background(), "down")
		for _, f := range []string{"meta-1", "data-1", "gateway-1"} {
			_ = copyFile(filepath.Join(dir, f+".log"), filepath.Join(logDir, f+".log"))
		}
		return err
	}
	if err := script(ctx, "up"); err != nil {
		_ = stop()
		return nil, err
	}
	procs, err := clusterProcs(dir)
	if err == nil && len(procs) == 0 {
		err = fmt.Errorf("benchcompare: no pid files in %s", dir)
	}
	if err != nil {
		_ = stop()
		return nil, err
	}
	inst := &instance{Endpoint: "http://" + addr(p[0]), Procs: procs, stop: stop}
	if err := waitReady(ctx, nil, cfg.ReadyTimeout, probe(cfg, inst.Endpoint)); err != nil {
		_ = stop()
		return nil, err
	}
	return inst, nil
}

// clusterProcs reads cluster.sh's <name>.pid files: the kind is the name
// up to its last '-' (meta-1 is a meta, gateway-1 a gateway).
func clusterProcs(dir string) ([]proc, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return nil, fmt.Errorf("benchcompare: %w", err)
	}
	sort.Strings(files)
	var procs []proc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("benchcompare: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("benchcompare: %s: not a pid: %w", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		kind := name
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			kind = name[:i]
		}
		procs = append(procs, proc{Kind: kind, PID: pid})
	}
	return procs, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
