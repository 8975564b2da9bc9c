package main

import (
	"context"
	"errors"
	"io"

	"github.com/reticle-mesh/reticle/pkg/backup"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/web"
)

// backupsAPI adapts *backup.Manager to web.Backups (pkg/web may not import pkg/backup), mapping its
// errors onto the web sentinels.
type backupsAPI struct{ m *backup.Manager }

var _ web.Backups = backupsAPI{}

func webError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, backup.ErrNotFound):
		return errors.Join(web.ErrSnapshotNotFound, err)
	case errors.Is(err, backup.ErrUnsafeName):
		return errors.Join(web.ErrBadSnapshotName, err)
	case errors.Is(err, backup.ErrWrongKey):
		return errors.Join(web.ErrWrongPassphrase, err)
	case errors.Is(err, backup.ErrSealed):
		return errors.Join(web.ErrSealedArchive, err)
	case errors.Is(err, backup.ErrBadPassphrase):
		return errors.Join(web.ErrBadPassphrase, err)
	case errors.Is(err, store.ErrSchemaTooNew):
		return errors.Join(web.ErrArchiveTooNew, err)
	case errors.Is(err, backup.ErrInvalid):
		return errors.Join(web.ErrBadArchive, err)
	}
	return err
}

func snapshotOf(in backup.Info) web.Snapshot {
	return web.Snapshot{Name: in.Name, Size: in.Size, CreatedAt: in.CreatedAt, Reason: in.Reason, Messages: in.Messages,
		SchemaVersion: in.SchemaVersion, Problem: in.Problem}
}

func pendingOf(m backup.Manifest) *web.PendingRestore {
	return &web.PendingRestore{CreatedAt: m.CreatedAt, ReticleVersion: m.ReticleVersion, SchemaVersion: m.SchemaVersion,
		Messages: m.Messages, RestartRequired: true}
}

func (b backupsAPI) ListSnapshots(ctx context.Context) (web.SnapshotList, error) {
	list, err := b.m.List(ctx)
	if err != nil {
		return web.SnapshotList{}, err
	}
	out := web.SnapshotList{Snapshots: make([]web.Snapshot, 0, len(list)), Warning: b.m.Warning()}
	for _, in := range list {
		out.Snapshots = append(out.Snapshots, snapshotOf(in))
	}
	if m, ok := b.m.Pending(); ok {
		out.Pending = pendingOf(m)
	}
	return out, nil
}

func (b backupsAPI) CreateSnapshot(ctx context.Context) (web.Snapshot, error) {
	in, err := b.m.Create(ctx, "manual")
	return snapshotOf(in), webError(err)
}

func (b backupsAPI) OpenSnapshot(ctx context.Context, name string) (io.ReadSeekCloser, web.Snapshot, error) {
	f, in, err := b.m.Open(ctx, name)
	if err != nil {
		return nil, web.Snapshot{}, webError(err)
	}
	return f, snapshotOf(in), nil
}

func (b backupsAPI) DeleteSnapshot(ctx context.Context, name string) error {
	return webError(b.m.Delete(ctx, name))
}

// SealSnapshot implements web.Backups.
func (b backupsAPI) SealSnapshot(ctx context.Context, name, passphrase string, w io.Writer) error {
	return webError(b.m.Seal(ctx, name, passphrase, w))
}

func (b backupsAPI) StageRestore(ctx context.Context, r io.Reader, passphrase string) (web.PendingRestore, error) {
	m, err := b.m.StageRestore(ctx, r, passphrase)
	if err != nil {
		return web.PendingRestore{}, webError(err)
	}
	return *pendingOf(m), nil
}

func (b backupsAPI) CancelRestore(context.Context) error { return b.m.CancelPending() }

func (b backupsAPI) MaxUpload() int64 { return b.m.MaxUpload() }
