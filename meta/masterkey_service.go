package meta

import (
	"context"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (a *adminService) RotateMasterKey(ctx context.Context, req *cairnpb.RotateMasterKeyRequest) (*cairnpb.RotateMasterKeyResponse, error) {
	if err := validName("master key id", req.GetTo()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.rotateMasterKey, cairnpb.AdminClient.RotateMasterKey)
}

func (a *adminService) MasterKeyStatus(ctx context.Context, req *cairnpb.MasterKeyStatusRequest) (*cairnpb.MasterKeyStatusResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.masterKeyStatus, cairnpb.AdminClient.MasterKeyStatus)
}

func (m *metaService) ActiveMasterKey(ctx context.Context, req *cairnpb.ActiveMasterKeyRequest) (*cairnpb.ActiveMasterKeyResponse, error) {
	return route(ctx, m.s, req, m.s.activeMasterKey, cairnpb.MetaClient.ActiveMasterKey)
}

// rotateMasterKey makes req.To the active key, once it is sure its own
// keyring holds it, and wakes the re-wrap.
func (s *Server) rotateMasterKey(ctx context.Context, req *cairnpb.RotateMasterKeyRequest) (*cairnpb.RotateMasterKeyResponse, error) {
	ring := s.cfg.Keyring
	if ring == nil {
		return nil, fsm.Invalid("rotate master key: meta node %s has no keyring (start it with --master-key-file)", s.cfg.ID)
	}
	to, ok := ring.Canonical(req.GetTo())
	if !ok {
		return nil, fsm.Invalid("rotate master key: key %q is not in the keyring of meta node %s, which holds %s; add it to every meta node's and gateway's keyring first",
			req.GetTo(), s.cfg.ID, strings.Join(ring.IDs(), ", "))
	}
	var prev string
	if err := s.read(ctx, func(r pebble.Reader) error {
		st, err := fsm.GetMasterKeyState(r)
		prev = st.GetActiveKeyId()
		return err
	}); err != nil {
		return nil, err
	}
	if prev == "" {
		prev = ring.Default()
	}
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetMasterKey{SetMasterKey: &cairnpb.SetMasterKeyCmd{KeyId: to}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("master key rotated", "from", prev, "to", to)
	s.node.jobSet.KickRewrap()
	return &cairnpb.RotateMasterKeyResponse{ActiveKeyId: to, PreviousKeyId: prev}, nil
}

func (s *Server) activeMasterKey(ctx context.Context, _ *cairnpb.ActiveMasterKeyRequest) (*cairnpb.ActiveMasterKeyResponse, error) {
	resp := &cairnpb.ActiveMasterKeyResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		st, err := fsm.GetMasterKeyState(r)
		resp.KeyId = st.GetActiveKeyId()
		return err
	})
	return resp, err
}

// activeKeyID returns the key new secrets are sealed with: the replicated
// active key, or before one is published the keyring's default.
func (s *Server) activeKeyID(r pebble.Reader) (string, error) {
	st, err := fsm.GetMasterKeyState(r)
	if err != nil {
		return "", err
	}
	if id := st.GetActiveKeyId(); id != "" {
		return id, nil
	}
	return s.cfg.Keyring.Default(), nil
}

func (s *Server) masterKeyStatus(ctx context.Context, _ *cairnpb.MasterKeyStatusRequest) (*cairnpb.MasterKeyStatusResponse, error) {
	resp := &cairnpb.MasterKeyStatusResponse{AnsweredBy: s.cfg.ID}
	if s.cfg.Keyring != nil {
		resp.KeyringIds = s.cfg.Keyring.IDs()
	}
	err := s.read(ctx, func(r pebble.Reader) error {
		st, err := fsm.GetMasterKeyState(r)
		if err != nil {
			return err
		}
		resp.ActiveKeyId, resp.PreviousKeyId, resp.SetUnixNano = st.GetActiveKeyId(), st.GetPreviousKeyId(), st.GetSetUnixNano()
		counts, err := jobs.CountWrapped(r)
		if err != nil {
			return err
		}
		for _, c := range counts {
			resp.Counts = append(resp.Counts, c)
			if c.GetKeyId() != resp.ActiveKeyId {
				resp.Left += c.GetVersions() + c.GetUploadParts() + c.GetAccessKeys()
			}
		}
		sort.Slice(resp.Counts, func(i, j int) bool { return resp.Counts[i].GetKeyId() < resp.Counts[j].GetKeyId() })
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Progress = s.node.jobSet.RewrapProgress()
	return resp, nil
}

// sealAccessKey returns the record to store for a new access key: k with
// its secret sealed under the active master key and the plaintext left
// out. Without a keyring (tests only) it is k itself.
func (s *Server) sealAccessKey(k *cairnpb.AccessKey) (*cairnpb.AccessKey, error) {
	ring := s.cfg.Keyring
	if ring == nil {
		return k, nil
	}
	var active string
	if err := s.node.store.View(func(r pebble.Reader) error {
		var err error
		active, err = s.activeKeyID(r)
		return err
	}); err != nil {
		return nil, err
	}
	sealed, err := jobs.SealSecret(ring, active, k.GetAccessKeyId(), k.GetSecret())
	if err != nil {
		return nil, err
	}
	out := proto.Clone(k).(*cairnpb.AccessKey)
	out.Secret, out.SealedSecret, out.SecretKeyId = "", sealed, active
	return out, nil
}
