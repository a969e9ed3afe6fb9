package s3api

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/sse"
)

// watchMasterKey follows the cluster's active master key (replicated by
// meta; `cairnctl masterkey rotate` changes it) every interval until ctx
// ends, so new data keys are wrapped by it. A key missing from this
// gateway's keyring is logged and the current key kept: the data written
// meanwhile is re-wrapped by the meta leader later.
func watchMasterKey(ctx context.Context, mc *metaclient.Client, mk *sse.MasterKey, log *slog.Logger, interval time.Duration) {
	if mk == nil {
		return
	}
	warned := ""
	for {
		cctx, cancel := context.WithTimeout(ctx, interval+5*time.Second)
		resp, err := metaclient.Meta(cctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ActiveMasterKeyResponse, error) {
			return c.ActiveMasterKey(ctx, &cairnpb.ActiveMasterKeyRequest{})
		})
		cancel()
		id := resp.GetKeyId()
		if c, ok := mk.Keyring().Canonical(id); ok {
			id = c
		}
		if err == nil && id != "" && id != mk.ID() {
			if serr := mk.SetActive(id); serr != nil {
				if warned != id {
					log.Error("the cluster's active master key is not in this gateway's keyring; new data stays under the previous key", "key_id", id, "err", serr)
					warned = id
				}
			} else {
				log.Info("master key rotated: new data keys are wrapped by it", "key_id", mk.ID())
			}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
