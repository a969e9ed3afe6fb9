package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/cairn-store/cairn/meta"
)

// adminTokenFlags choose the token that guards a meta node's Admin
// service: --admin-token-file, else CAIRN_ADMIN_TOKEN, else a token
// generated once into <dir>/admin.token.
type adminTokenFlags struct{ file string }

func (a *adminTokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.file, "admin-token-file", "", "file holding the admin token cairnctl must present (default: env CAIRN_ADMIN_TOKEN, else generated into <dir>/admin.token)")
}

// token resolves the admin token; it logs where the token lives, never the
// token itself.
func (a *adminTokenFlags) token(dir string, log *slog.Logger) (string, error) {
	token, path, err := meta.LoadAdminToken(a.file, os.Getenv("CAIRN_ADMIN_TOKEN"), dir)
	if err != nil {
		return "", err
	}
	if path == "" {
		log.Info("admin token from CAIRN_ADMIN_TOKEN")
	} else {
		log.Info("admin token file", "path", path)
	}
	return token, nil
}

// checkJoin validates --join against --bootstrap and --restore.
func checkJoin(join, bootstrap bool, restore string) error {
	switch {
	case join && bootstrap:
		return fmt.Errorf("--join and --bootstrap exclude each other: a joining node waits to be added with 'cairnctl meta add'")
	case join && restore != "":
		return fmt.Errorf("--restore needs --bootstrap, not --join")
	case restore != "" && !bootstrap:
		return fmt.Errorf("--restore needs --bootstrap (it starts a new group from the snapshot)")
	}
	return nil
}
