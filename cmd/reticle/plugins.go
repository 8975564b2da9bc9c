package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/plugins"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// pluginRecords implements plugins.Records on the store.
type pluginRecords struct{ st *store.Store }

var _ plugins.Records = pluginRecords{}

func pluginErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", plugins.ErrNotFound, err)
	case errors.Is(err, store.ErrQuota):
		return fmt.Errorf("%w: %w", plugins.ErrQuota, err)
	}
	return err
}

func capsToStrings(cs []plugins.Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func (r pluginRecords) PutPlugin(ctx context.Context, p plugins.Record) error {
	return pluginErr(r.st.PutPlugin(ctx, &store.Plugin{
		ID: p.ID, Version: p.Version, Manifest: p.Manifest, Wasm: p.Wasm, Signature: p.Signature,
		WasmSHA256: p.WasmSHA256, PublisherKeyID: p.PublisherKeyID, Enabled: p.Enabled,
		DisabledReason: p.DisabledReason, InstalledAt: p.InstalledAt, UpdatedAt: p.UpdatedAt,
	}))
}

func (r pluginRecords) record(ctx context.Context, p store.Plugin) (plugins.Record, error) {
	grants, err := r.st.PluginGrants(ctx, p.ID, p.Version)
	if err != nil {
		return plugins.Record{}, err
	}
	caps := make([]plugins.Capability, len(grants))
	for i, g := range grants {
		caps[i] = plugins.Capability(g)
	}
	return plugins.Record{
		ID: p.ID, Version: p.Version, Manifest: p.Manifest, Wasm: p.Wasm, Signature: p.Signature,
		WasmSHA256: p.WasmSHA256, PublisherKeyID: p.PublisherKeyID, Enabled: p.Enabled,
		DisabledReason: p.DisabledReason, Grants: caps, InstalledAt: p.InstalledAt, UpdatedAt: p.UpdatedAt,
	}, nil
}

func (r pluginRecords) GetPlugin(ctx context.Context, id string) (plugins.Record, error) {
	p, err := r.st.GetPlugin(ctx, id)
	if err != nil {
		return plugins.Record{}, pluginErr(err)
	}
	return r.record(ctx, p)
}

func (r pluginRecords) ListPlugins(ctx context.Context) ([]plugins.Record, error) {
	ps, err := r.st.ListPlugins(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]plugins.Record, 0, len(ps))
	for _, p := range ps {
		rec, err := r.record(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r pluginRecords) DeletePlugin(ctx context.Context, id string) error {
	return pluginErr(r.st.DeletePlugin(ctx, id))
}

func (r pluginRecords) SetEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	return pluginErr(r.st.SetPluginEnabled(ctx, id, enabled, reason))
}

func (r pluginRecords) SetGrants(ctx context.Context, id, version string, caps []plugins.Capability) error {
	return pluginErr(r.st.SetPluginGrants(ctx, id, version, capsToStrings(caps)))
}

func (r pluginRecords) TrustedKeys(ctx context.Context) ([]plugins.PublisherKey, error) {
	ks, err := r.st.PluginPublishers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]plugins.PublisherKey, len(ks))
	for i, k := range ks {
		out[i] = plugins.PublisherKey{ID: k.KeyID, Name: k.Name, Key: k.PublicKey, Added: k.AddedAt.Unix()}
	}
	return out, nil
}

func (r pluginRecords) AddTrustedKey(ctx context.Context, k plugins.PublisherKey) error {
	return r.st.AddPluginPublisher(ctx, &store.PluginPublisher{KeyID: k.ID, Name: k.Name, PublicKey: k.Key, AddedAt: time.Unix(k.Added, 0).UTC()})
}

func (r pluginRecords) DeleteTrustedKey(ctx context.Context, id string) error {
	return pluginErr(r.st.DeletePluginPublisher(ctx, id))
}

func (r pluginRecords) AddAudit(ctx context.Context, e plugins.AuditEntry) error {
	return r.st.AddPluginAudit(ctx, &store.PluginAudit{PluginID: e.PluginID, Event: e.Event, Detail: e.Detail, At: e.At})
}

func (r pluginRecords) ListAudit(ctx context.Context, pluginID string, limit int) ([]plugins.AuditEntry, error) {
	rows, err := r.st.PluginAuditLog(ctx, pluginID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]plugins.AuditEntry, len(rows))
	for i, a := range rows {
		out[i] = plugins.AuditEntry{ID: a.ID, PluginID: a.PluginID, Event: a.Event, Detail: a.Detail, At: a.At}
	}
	return out, nil
}

func (r pluginRecords) KVGet(ctx context.Context, pluginID, key string) ([]byte, bool, error) {
	return r.st.PluginKVGet(ctx, pluginID, key)
}

func (r pluginRecords) KVSet(ctx context.Context, pluginID, key string, value []byte, quota int64) error {
	return pluginErr(r.st.PluginKVSet(ctx, pluginID, key, value, quota))
}

func (r pluginRecords) KVDelete(ctx context.Context, pluginID, key string) error {
	return r.st.PluginKVDelete(ctx, pluginID, key)
}

// pluginHost lets plugins send as the node through the app (stored first, like every send).
type pluginHost struct{ msg *app.App }

func (h pluginHost) SendMessage(ctx context.Context, _, destination, content string) error {
	_, err := h.msg.Send(ctx, app.SendRequest{To: destination, Content: content})
	return err
}

// pluginBridge feeds received messages from the app's broker to the plugins (messages.read). The
// broker drops the oldest events of a slow subscriber, and the manager drops what its queue cannot
// hold: a plugin may miss a message, the store never does.
type pluginBridge struct {
	mg     *plugins.Manager
	events *app.Broker
	stop   func()
	done   chan struct{}
}

func (b *pluginBridge) Start(ctx context.Context) error {
	if err := b.mg.Start(ctx); err != nil {
		return err
	}
	ch, unsubscribe := b.events.Subscribe(256)
	b.stop, b.done = unsubscribe, make(chan struct{})
	go func() {
		defer close(b.done)
		for ev := range ch {
			if ev.Kind != app.EventMessageReceived || ev.Message == nil {
				continue
			}
			m := ev.Message
			b.mg.Deliver(plugins.Message{
				ID: m.ID, Source: m.Peer, Title: m.Title, Content: m.Content,
				Timestamp: m.Timestamp.Unix(), Verified: m.Verified,
			})
		}
	}()
	return nil
}

func (b *pluginBridge) Close() error {
	if b.stop != nil {
		b.stop()
		<-b.done
	}
	return b.mg.Close()
}
