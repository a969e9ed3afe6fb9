package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/meta/keyring"
)

// metaKeyFlags are a meta node's master key settings: the keyring that
// seals access key secrets and re-wraps data keys after a rotation (the
// same keyring as the gateways'), and how fast the leader re-wraps.
type metaKeyFlags struct {
	file string
	rate int
}

func (m *metaKeyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.file, "master-key-file", "", "file holding the master keyring (a key as 32 raw bytes or 64 hex digits, or \"ID HEX\" lines); else env "+masterKeyEnv+" (hex)")
	fs.IntVar(&m.rate, "rewrap-rate", meta.DefaultRewrapRate, "wrapped keys per second the leader re-wraps after a master key rotation")
}

// keyring loads the keyring; one is required.
func (m *metaKeyFlags) keyring() (*keyring.Keyring, error) {
	var raw []byte
	switch env := os.Getenv(masterKeyEnv); {
	case m.file != "":
		b, err := os.ReadFile(m.file)
		if err != nil {
			return nil, fmt.Errorf("--master-key-file: %w", err)
		}
		raw = b
	case env != "":
		raw = []byte(env)
	default:
		return nil, fmt.Errorf("a master key is required (access key secrets are sealed with it): --master-key-file or %s", masterKeyEnv)
	}
	r, err := keyring.Parse(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return r, nil
}

// registerRewrapMetrics exports the leader's master key re-wrap progress.
func registerRewrapMetrics(reg prometheus.Registerer, s *meta.Server) error {
	metric := func(name, help string, t prometheus.ValueType, v func(jobs.RewrapStats) float64) ops.SnapshotMetric[jobs.RewrapStats] {
		return ops.SnapshotMetric[jobs.RewrapStats]{Name: name, Help: help, Type: t, Value: v}
	}
	return reg.Register(ops.NewSnapshotCollector(func() (jobs.RewrapStats, error) { return s.RewrapStats(), nil }, nil,
		metric("cairn_meta_masterkey_rewrapped_total", "Wrapped keys re-wrapped under the active master key since this node started leading.", prometheus.CounterValue,
			func(st jobs.RewrapStats) float64 { return float64(st.Done) }),
		metric("cairn_meta_masterkey_rewrap_pending", "Wrapped keys under old master keys still to re-wrap in the current pass (leader only).", prometheus.GaugeValue,
			func(st jobs.RewrapStats) float64 { return float64(max(st.Pending, 0)) }),
		metric("cairn_meta_masterkey_rewrap_failed", "Wrapped keys the last pass could not unwrap (master key missing from the keyring, or tampered).", prometheus.GaugeValue,
			func(st jobs.RewrapStats) float64 { return float64(st.Failed) }),
		metric("cairn_meta_masterkey_rewrap_rate", "Wrapped keys re-wrapped per second over the current or last pass.", prometheus.GaugeValue,
			func(st jobs.RewrapStats) float64 { return st.Rate }),
		metric("cairn_meta_masterkey_rewrap_running", "1 while a re-wrap pass is under way.", prometheus.GaugeValue,
			func(st jobs.RewrapStats) float64 {
				if st.Running {
					return 1
				}
				return 0
			}),
	))
}
