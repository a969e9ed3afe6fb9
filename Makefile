# Cairn — build, run and test. `make test` installs what it needs itself.

GO        ?= go
BIN       := bin
TOOLS     := $(BIN)/tools
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
# protoc comes from Debian's protobuf-compiler package (3.21.12).
PROTOC_VERSION := 3.21.12
# boto3, the OCI Python SDK (oci) and ocifs (fsspec over the native API)
# for the boto3 and native API acceptance tests, in one venv under bin/.
BOTO3_VERSION := 1.44.5
OCI_VERSION := 2.189.0
OCIFS_VERSION := 1.3.4
PYENV := $(BIN)/pyenv
# The venv is rebuilt when a pinned version changes.
PYENV_STAMP := $(PYENV)/.boto3-$(BOTO3_VERSION)-oci-$(OCI_VERSION)-ocifs-$(OCIFS_VERSION)
# The OCI CLI for the native API's acceptance test, in its own venv: each
# oci-cli release pins one oci SDK exactly (3.95.1 pins oci 2.189.0).
OCICLI_VERSION := 3.95.1
OCIENV := $(BIN)/ocienv
# The AWS CLI for its acceptance test, in its own venv (v1: the v2 CLI is
# not published to PyPI).
AWSCLI_VERSION := 1.45.11
AWSENV := $(BIN)/awsenv
# The other S3 clients test/e2e drives (docs/compatibility.md, "Clients
# tested"). From Debian, at the versions recorded here: rclone and s3fs.
RCLONE_DEB_VERSION := 1.60.1+dfsg-2+b5
S3FS_DEB_VERSION   := 1.90-1
# Chromium (Debian) for the browser tests of CORS and form uploads.
CHROMIUM_DEB_VERSION := 156.0.8078.129-1~deb12u1
# s3cmd from PyPI, in its own venv.
S3CMD_VERSION := 2.4.0
# Kopia, the backup tool whose object-lock workflow test/e2e runs; built
# from its module source (its list of versions is not served, so `go
# install` refuses it), into bin/.
KOPIA_VERSION := v0.22.3
KOPIA := $(BIN)/kopia-$(KOPIA_VERSION)
S3CMDENV := $(BIN)/s3cmdenv
# The AWS SDKs for JavaScript v2 and v3: versions pinned in
# test/clients/js/package.json and its lock file, installed under bin/.
JSCLIENTS := $(BIN)/jsclients
# The AWS SDKs for Java v1 and v2: versions pinned in
# test/clients/java/pom.xml, resolved into a Maven repository under bin/.
JAVACLIENTS := $(BIN)/javaclients
JAVA_SOURCES := $(wildcard test/clients/java/src/main/java/cairn/clients/*.java)
MVN := mvn -q -B -Dstyle.color=never -Dmaven.repo.local=$(abspath $(BIN))/m2 -f test/clients/java/pom.xml -Dclients.build.dir=$(abspath $(JAVACLIENTS))

# The Helm chart's tests are a module of their own (test/helm/go.mod):
# Helm's and Kubernetes' requirements would otherwise raise the versions of
# modules the Cairn binaries link (bbolt, x/net, klauspost/compress, ...).
# They run without -race: the race build of Helm and Kubernetes costs
# minutes, and the processes the boot test starts are built from the main
# module (without -race, like the image's).
HELM_TESTS := test/helm

DATA_NODES ?= 6
# Per test binary. test/e2e alone takes about 32 min on 2 cores; the
# margin is for a slower machine, within CI's 90 minutes for everything.
TEST_TIMEOUT ?= 55m

.PHONY: kopia browser all build image run test unit e2e chaos vet fmt-check generate verify tools pyenv ocienv awsenv awscli2 clients debclients s3cmdenv jsclients javaclients cluster-up cluster-down bench bench-compare bench-tls bench-inventory clean

all: build

build:
	$(GO) build -o $(BIN)/cairn ./cmd/cairn
	$(GO) build -o $(BIN)/cairnctl ./cmd/cairnctl

# The container image: bin/cairn-image.tar (docker-archive: docker load,
# podman load, kind load image-archive, ctr import) and bin/cairn-image-oci
# (OCI layout), reproducible from the commit (docs/kubernetes.md).
image:
	$(GO) run ./deploy/image -out $(BIN)/cairn-image.tar -oci $(BIN)/cairn-image-oci

# One process, the whole region: 1 meta, 6 data stores, 1 gateway on :9000.
run: build
	$(BIN)/cairn dev --listen 127.0.0.1:9000 --dir ./data

# Everything CI checks: formatting, vet, generated code up to date, and all
# tests (unit and multi-process acceptance) with the race detector. -count=1:
# the acceptance tests build `cairn` at run time, out of sight of go test's
# result cache, so a cached pass could hide a change. The packages under
# test/ start whole clusters of processes; they run one package at a time
# (-p 1) so that the acceptance and fault suites do not compete for the
# cores and turn timing margins into flakes.
test: deps pyenv ocienv awsenv awscli2 clients browser fmt-check vet verify
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v '/test/')
	$(GO) test -race -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./test/...
	cd $(HELM_TESTS) && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

deps:
	$(GO) mod download
	cd $(HELM_TESTS) && $(GO) mod download

# Python with boto3 and oci; test/e2e skips their checks when they are
# missing (and fails them in CI).
pyenv: $(PYENV_STAMP)

$(PYENV_STAMP):
	{ test -x $(PYENV)/bin/python || python3 -m venv $(PYENV); } && \
		$(PYENV)/bin/pip install -q boto3==$(BOTO3_VERSION) oci==$(OCI_VERSION) ocifs==$(OCIFS_VERSION) && touch $@ || \
		{ rm -rf $(PYENV); echo "could not create $(PYENV) with boto3 $(BOTO3_VERSION), oci $(OCI_VERSION) and ocifs $(OCIFS_VERSION)"; exit 1; }

# The OCI CLI; test/e2e uses bin/ocienv/bin/oci.
ocienv: $(OCIENV)/bin/oci

$(OCIENV)/bin/oci:
	python3 -m venv $(OCIENV) && $(OCIENV)/bin/pip install -q oci-cli==$(OCICLI_VERSION) || \
		{ rm -rf $(OCIENV); echo "could not create $(OCIENV) with oci-cli $(OCICLI_VERSION)"; exit 1; }

# AWS CLI v2 comes from Debian's packages (PyPI has only v1); installing it
# needs root, as on CI. test/e2e runs its AWS CLI checks with v1 and v2 (and,
# with CI set in the environment, fails when either is missing).
awscli2:
	@/usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2' || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli >/dev/null 2>&1; } || \
		echo "WARNING: could not install AWS CLI v2 (Debian package awscli; needs root): its e2e checks will be skipped"

# The AWS CLI v1; test/e2e uses bin/awsenv/bin/aws.
awsenv: $(AWSENV)/bin/aws

$(AWSENV)/bin/aws:
	python3 -m venv $(AWSENV) && $(AWSENV)/bin/pip install -q awscli==$(AWSCLI_VERSION) || \
		{ rm -rf $(AWSENV); echo "could not create $(AWSENV) with awscli $(AWSCLI_VERSION)"; exit 1; }

# Every S3 client test/e2e drives beyond Go's: with CI set in the
# environment, a missing one fails its test.
clients: debclients s3cmdenv jsclients javaclients kopia

# rclone and s3fs from Debian at the recorded versions; installing them
# needs root, as on CI. When Debian has moved on from a recorded version,
# its current one is installed and the difference is said.
debclients:
	@have() { [ "$$(dpkg-query -W -f='$${Status} $${Version}' $$1 2>/dev/null)" = "install ok installed $$2" ]; }; \
	want="rclone=$(RCLONE_DEB_VERSION) s3fs=$(S3FS_DEB_VERSION)"; \
	if ! have rclone $(RCLONE_DEB_VERSION) || ! have s3fs $(S3FS_DEB_VERSION); then \
		inst() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades "$$@" >/dev/null 2>&1; }; \
		inst $$want || { apt-get update -q >/dev/null 2>&1 && inst $$want; } || \
		{ echo "WARNING: Debian no longer has $$want; installing its current rclone and s3fs"; inst rclone s3fs; } || \
		echo "WARNING: could not install rclone and s3fs (Debian packages; needs root): their e2e checks will fail in CI and be skipped elsewhere"; \
	fi

# Kopia at KOPIA_VERSION: the module's source from the proxy, built in a
# copy (the module cache is read-only).
kopia: $(KOPIA)

$(KOPIA):
	@dir=$$($(GO) mod download -json github.com/kopia/kopia@$(KOPIA_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir" || { echo "could not download kopia $(KOPIA_VERSION) from the module proxy"; exit 1; }; \
	src=$$(mktemp -d) && cp -r "$$dir/." "$$src" && chmod -R u+w "$$src" && \
	(cd "$$src" && $(GO) build -trimpath -o $(abspath $@) .); rc=$$?; rm -rf "$$src"; \
	[ $$rc = 0 ] || echo "could not build kopia $(KOPIA_VERSION)"; exit $$rc

# Headless Chromium for test/e2e/browser_test.go (a page of another
# origin using the gateway through CORS, and a browser form upload).
browser:
	@if [ "$$(dpkg-query -W -f='$${Status} $${Version}' chromium 2>/dev/null)" != "install ok installed $(CHROMIUM_DEB_VERSION)" ]; then \
		inst() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades "$$@" >/dev/null 2>&1; }; \
		inst chromium=$(CHROMIUM_DEB_VERSION) || { apt-get update -q >/dev/null 2>&1 && inst chromium=$(CHROMIUM_DEB_VERSION); } || \
		{ echo "WARNING: Debian no longer has chromium $(CHROMIUM_DEB_VERSION); installing its current one"; inst chromium; } || \
		echo "WARNING: could not install chromium (a Debian package; needs root): the browser test will fail in CI and be skipped elsewhere"; \
	fi

# s3cmd; test/e2e uses bin/s3cmdenv/bin/s3cmd.
s3cmdenv: $(S3CMDENV)/bin/s3cmd

$(S3CMDENV)/bin/s3cmd:
	python3 -m venv $(S3CMDENV) && $(S3CMDENV)/bin/pip install -q s3cmd==$(S3CMD_VERSION) || \
		{ rm -rf $(S3CMDENV); echo "could not create $(S3CMDENV) with s3cmd $(S3CMD_VERSION)"; exit 1; }

# The JavaScript SDKs, from the lock file; test/e2e runs
# test/clients/js/*.js with NODE_PATH=bin/jsclients/node_modules.
jsclients: $(JSCLIENTS)/node_modules/.package-lock.json

$(JSCLIENTS)/node_modules/.package-lock.json: test/clients/js/package.json test/clients/js/package-lock.json
	mkdir -p $(JSCLIENTS) && cp test/clients/js/package.json test/clients/js/package-lock.json $(JSCLIENTS)/ && \
	cd $(JSCLIENTS) && npm ci -s --ignore-scripts --no-audit --no-fund || \
		{ rm -rf $(JSCLIENTS); echo "could not install the JavaScript SDKs into $(JSCLIENTS)"; exit 1; }

# The Java SDKs' check programs, compiled into bin/javaclients/classes with
# their classpath in bin/javaclients/classpath.txt. Offline from bin/m2
# once it holds everything; the first build fills it.
javaclients: $(JAVACLIENTS)/classpath.txt

$(JAVACLIENTS)/classpath.txt: test/clients/java/pom.xml $(JAVA_SOURCES)
	@rm -f $@
	$(MVN) -o compile dependency:build-classpath -Dmdep.outputFile=$(abspath $@) >/dev/null 2>&1 || \
		$(MVN) compile dependency:build-classpath -Dmdep.outputFile=$(abspath $@) || \
		{ rm -f $@; echo "could not build test/clients/java"; exit 1; }

unit:
	$(GO) test -race -short ./erasure/... ./placement/... ./proto/... ./node/... ./meta/... ./s3api/... ./cmd/...

e2e:
	$(GO) test -race -timeout $(TEST_TIMEOUT) -v ./test/...

# A long randomized fault-injection run (docs/fault-testing.md).
CHAOS_DURATION ?= 30m
chaos:
	CAIRN_CHAOS_DURATION=$(CHAOS_DURATION) $(GO) test -race -count=1 -timeout 24h -run 'TestChaosRandomized$$' -v ./test/chaos/

vet:
	$(GO) vet ./...
	cd $(HELM_TESTS) && $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# --- generated code ---------------------------------------------------------

tools: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc protoc

$(TOOLS)/protoc-gen-go:
	GOBIN=$(abspath $(TOOLS)) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(abspath $(TOOLS)) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

protoc:
	@if ! protoc --version 2>/dev/null | grep -q "$(PROTOC_VERSION)"; then \
		echo "installing protoc $(PROTOC_VERSION) (Debian protobuf-compiler)"; \
		(apt-get update -qq && apt-get install -y -qq protobuf-compiler) >/dev/null || \
		{ echo "could not install protobuf-compiler with apt-get"; exit 1; }; \
	fi
	@protoc --version | grep -q "$(PROTOC_VERSION)" || { echo "protoc $(PROTOC_VERSION) required, found $$(protoc --version)"; exit 1; }

PROTO_GEN = PATH=$(abspath $(TOOLS)):$$PATH protoc -I proto \
	--go_out=$(1) --go_opt=paths=source_relative \
	--go-grpc_out=$(1) --go-grpc_opt=paths=source_relative proto/cairnpb/*.proto

generate: tools
	$(call PROTO_GEN,proto)

# Fails when the checked-in generated code differs from what the pinned
# generators produce.
verify: tools
	@tmp=$$(mktemp -d); $(call PROTO_GEN,$$tmp) && \
	for f in $$tmp/cairnpb/*.go; do \
		if ! cmp -s $$f proto/cairnpb/$$(basename $$f); then \
			echo "proto/cairnpb/$$(basename $$f) is stale: run 'make generate' and commit"; rm -rf $$tmp; exit 1; fi; \
	done; \
	n=$$(ls proto/cairnpb/*.pb.go | wc -l); m=$$(ls $$tmp/cairnpb/*.pb.go | wc -l); rm -rf $$tmp; \
	[ $$n -eq $$m ] || { echo "proto/cairnpb has $$n generated files, generators make $$m"; exit 1; }; \
	echo "generated code is up to date"

# --- local multi-process cluster ---------------------------------------------

cluster-up: build
	DATA_NODES=$(DATA_NODES) deploy/local/cluster.sh up

cluster-down:
	deploy/local/cluster.sh down

# PUT/GET throughput of 16 MiB objects and 4 KiB ops/s against a fresh local
# cluster, plus the gateway's peak RSS.
bench: build
	deploy/local/bench.sh

# Cairn dev and the local cluster side by side with MinIO and SeaweedFS,
# alternating, fresh stores, one client (docs/performance.md): medians with
# min and max over BENCH_REPS (3) reps, ratios, and server CPU s/GiB per
# process kind. The comparison servers are pinned builds from the Go module
# proxy, cached in bin/compare (or MINIO_BIN / WEED_BIN). BENCH_DURATION
# (20s) per timed workload; BENCH_BIG=1 adds 8 x 1 GiB PUT and GET;
# BENCH_TARGETS (dev,cluster,minio,seaweedfs) picks and orders targets.
bench-compare: build
	$(GO) run ./deploy/benchcompare

# What internal mutual TLS costs: the core benchmark against a cluster with
# mTLS and one with --insecure-internal, alternating, in one run.
bench-tls: build
	BENCH_TLS_COMPARE=1 deploy/local/bench.sh

# What meta's inventory reconciliation costs a data node holding
# INVENTORY_SHARDS shards (docs/durability.md, "Sizing").
INVENTORY_SHARDS ?= 1000000
bench-inventory:
	CAIRN_INVENTORY_BENCH_SHARDS=$(INVENTORY_SHARDS) $(GO) test -count=1 -timeout 2h -run 'TestInventoryCostBenchmark$$' -v ./node/

clean:
	rm -rf $(BIN) .cluster
