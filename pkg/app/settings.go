package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/lxmf/propnode"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// ErrInvalidSetting is a setting value out of its range; the message names the setting.
var ErrInvalidSetting = errors.New("invalid setting")

// Limits of the owner's settings.
const (
	MaxDisplayNameBytes = 128
	// MinAnnounceInterval and MaxAnnounceInterval are the bounds --announce-interval has too; 0 turns
	// the interval off.
	MinAnnounceInterval = time.Minute
	MaxAnnounceInterval = 7 * 24 * time.Hour
	// MaxStampCost bounds the proof of work the node asks of senders; above it most phones and
	// Raspberry Pis would take minutes per message.
	MaxStampCost = 32
	// MaxInboundPerMinute bounds the per-source inbound limit the owner may set.
	MaxInboundPerMinute = 100_000
	// MaxSyncInterval bounds the scheduled propagation sync interval (the --sync-interval range).
	MaxSyncInterval = 168 * time.Hour
	// MaxPropagationStorageMB bounds the hosted node's storage limit (1 TB).
	MaxPropagationStorageMB = 1 << 20
	// MaxMessageMB bounds the largest inbound message the owner may allow (the --max-message-mb range).
	MaxMessageMB = 256
	// linkFraming is what a message over a link needs beyond its packed size as a resource.
	linkFraming = 64 << 10
)

const (
	settingDisplayName      = "app.display_name"
	settingAnnounceInterval = "app.announce_interval_s"
	settingStampCost        = "app.stamp_cost"
	settingStrangerFiles    = "app.stranger_attachments"
	settingRefuseStrangers  = "app.refuse_strangers"
	settingPropagateOnFail  = "app.propagate_on_failure"
	settingInboundLimit     = "app.inbound_per_minute"
	settingSyncInterval     = "app.sync_interval_s"
	settingHosting          = "app.propagation_hosting"
	settingHostingStorage   = "app.propagation_storage_mb"
	settingTransport        = "app.transport"
	settingMaxMessage       = "app.max_message_mb"
)

// The stranger_attachments values: a non-contact's attachments are dropped (the message is kept and
// says what was held back) or stored.
const (
	StrangerAttachmentsHold  = "hold"
	StrangerAttachmentsAllow = "allow"
)

// Settings are the owner's node settings, saved in the store and applied at once. A saved value wins
// over the flag or environment value the node started with (shown as the default).
type Settings struct {
	// DisplayName is announced with the delivery destination.
	DisplayName string `json:"display_name"`
	// AnnounceIntervalMinutes is how often the node announces besides at start and on interface-up
	// (0: only those).
	AnnounceIntervalMinutes int `json:"announce_interval_minutes"`
	// StampCost is the proof of work inbound messages must carry (0: none); announced to senders.
	StampCost int `json:"stamp_cost"`
	// StrangerAttachments is "hold" (attachments from non-contacts are not stored) or "allow".
	StrangerAttachments string `json:"stranger_attachments"`
	// RefuseStrangers drops every message from a non-contact, unproven.
	RefuseStrangers bool `json:"refuse_strangers"`
	// PropagateOnFailure sends a direct or opportunistic message that ran out of attempts through the
	// propagation node, when one is chosen, instead of failing it.
	PropagateOnFailure bool `json:"propagate_on_failure"`
	// InboundPerMinute is how many opportunistic and direct messages one source may deliver per minute
	// (all sources together: ten times it); messages over it are not proven, so senders retry later.
	InboundPerMinute int `json:"inbound_per_minute"`
	// SyncIntervalMinutes is how often the node syncs with its propagation node (0: only when asked).
	SyncIntervalMinutes int `json:"sync_interval_minutes"`
	// PropagationHosting makes this node a propagation node for others, with PropagationStorageMB.
	PropagationHosting   bool `json:"propagation_hosting"`
	PropagationStorageMB int  `json:"propagation_storage_mb"`
	// Transport forwards packets, announces and path requests for other nodes (a transport node).
	Transport bool `json:"transport"`
	// MaxMessageMB is the largest message (with attachments) accepted over a link.
	MaxMessageMB int `json:"max_message_mb"`
}

// SettingsPatch changes the settings that are set; DisplayName "" goes back to the startup name.
type SettingsPatch struct {
	DisplayName             *string `json:"display_name"`
	AnnounceIntervalMinutes *int    `json:"announce_interval_minutes"`
	StampCost               *int    `json:"stamp_cost"`
	StrangerAttachments     *string `json:"stranger_attachments"`
	RefuseStrangers         *bool   `json:"refuse_strangers"`
	PropagateOnFailure      *bool   `json:"propagate_on_failure"`
	InboundPerMinute        *int    `json:"inbound_per_minute"`
	SyncIntervalMinutes     *int    `json:"sync_interval_minutes"`
	PropagationHosting      *bool   `json:"propagation_hosting"`
	PropagationStorageMB    *int    `json:"propagation_storage_mb"`
	Transport               *bool   `json:"transport"`
	MaxMessageMB            *int    `json:"max_message_mb"`
}

// SettingsView is the current settings and the startup values a reset goes back to.
type SettingsView struct {
	Settings
	Defaults Settings `json:"defaults"`
}

func (a *App) startupSettings() Settings {
	return Settings{
		DisplayName:             a.opts.DisplayName,
		AnnounceIntervalMinutes: int(a.opts.AnnounceInterval / time.Minute),
		StampCost:               a.opts.StampCost,
		StrangerAttachments:     strangerFiles(a.opts.StrangerAttachments != StrangerAttachmentsAllow),
		RefuseStrangers:         a.opts.RefuseStrangers,
		PropagateOnFailure:      !a.opts.NoPropagateOnFailure,
		InboundPerMinute:        a.startupInboundLimit(),
		SyncIntervalMinutes:     a.startupSyncMinutes(),
		PropagationHosting:      a.opts.Propagation.Serve,
		PropagationStorageMB:    a.startupStorageMB(),
		Transport:               a.startTransport,
		MaxMessageMB:            a.startupMaxMessageMB(),
	}
}

func (a *App) startupMaxMessageMB() int {
	if n := a.opts.Router.MaxDirectSize; n > 0 {
		return max(1, n>>20)
	}
	return 8 // the router's default
}

func (a *App) startupInboundLimit() int {
	if n := a.opts.Router.MaxInboundPerPeer; n > 0 {
		return n
	}
	return 60 // the router's default
}

func (a *App) startupSyncMinutes() int {
	switch iv := a.opts.Propagation.SyncInterval; {
	case iv < 0:
		return 0
	case iv == 0:
		return int(DefaultSyncInterval / time.Minute)
	default:
		return int(iv / time.Minute)
	}
}

func (a *App) startupStorageMB() int {
	if l := a.opts.Propagation.StorageLimit; l > 0 {
		return int(l >> 20)
	}
	return int(propnode.DefaultStorageLimit >> 20)
}

func strangerFiles(hold bool) string {
	if hold {
		return StrangerAttachmentsHold
	}
	return StrangerAttachmentsAllow
}

// GetSettings returns the settings in force.
func (a *App) GetSettings() SettingsView {
	a.settingsMu.Lock()
	defer a.settingsMu.Unlock()
	return SettingsView{Settings: Settings{
		DisplayName:             a.r.DisplayName(),
		AnnounceIntervalMinutes: int(a.announceEvery / time.Minute),
		StampCost:               a.r.StampCost(),
		StrangerAttachments:     strangerFiles(a.holdStrangerFiles.Load()),
		RefuseStrangers:         a.refuseStrangers.Load(),
		PropagateOnFailure:      a.propagateOnFail.Load(),
		InboundPerMinute:        a.r.InboundLimit(),
		SyncIntervalMinutes:     a.syncMinutes,
		PropagationHosting:      a.prop.hosted() != nil,
		PropagationStorageMB:    a.hostingMB,
		Transport:               a.tr.IsTransport(),
		MaxMessageMB:            max(1, a.r.MaxDirectSize()>>20),
	}, Defaults: a.startupSettings()}
}

// validate checks p and returns the store values it sets (key -> value; "" deletes the saved value).
func (p SettingsPatch) validate() (map[string]string, error) {
	out := map[string]string{}
	if p.DisplayName != nil {
		n := strings.TrimSpace(*p.DisplayName)
		switch {
		case !utf8.ValidString(n):
			return nil, fmt.Errorf("%w: display_name must be UTF-8 text", ErrInvalidSetting)
		case len(n) > MaxDisplayNameBytes:
			return nil, fmt.Errorf("%w: display_name must be at most %d bytes", ErrInvalidSetting, MaxDisplayNameBytes)
		case strings.ContainsFunc(n, isControlOrBidi):
			return nil, fmt.Errorf("%w: display_name must not contain control or bidi override characters", ErrInvalidSetting)
		}
		out[settingDisplayName] = n
	}
	if v := p.AnnounceIntervalMinutes; v != nil {
		d := time.Duration(*v) * time.Minute
		if *v < 0 || (d != 0 && (d < MinAnnounceInterval || d > MaxAnnounceInterval)) {
			return nil, fmt.Errorf("%w: announce_interval_minutes must be 0 (off) or %d to %d",
				ErrInvalidSetting, int(MinAnnounceInterval/time.Minute), int(MaxAnnounceInterval/time.Minute))
		}
		out[settingAnnounceInterval] = strconv.FormatInt(int64(d/time.Second), 10)
	}
	if v := p.StampCost; v != nil {
		if *v < 0 || *v > MaxStampCost {
			return nil, fmt.Errorf("%w: stamp_cost must be 0 (none) to %d", ErrInvalidSetting, MaxStampCost)
		}
		out[settingStampCost] = strconv.Itoa(*v)
	}
	if v := p.StrangerAttachments; v != nil {
		if *v != StrangerAttachmentsHold && *v != StrangerAttachmentsAllow {
			return nil, fmt.Errorf("%w: stranger_attachments must be %q or %q", ErrInvalidSetting, StrangerAttachmentsHold, StrangerAttachmentsAllow)
		}
		out[settingStrangerFiles] = *v
	}
	if v := p.RefuseStrangers; v != nil {
		out[settingRefuseStrangers] = strconv.FormatBool(*v)
	}
	if v := p.PropagateOnFailure; v != nil {
		out[settingPropagateOnFail] = strconv.FormatBool(*v)
	}
	if v := p.InboundPerMinute; v != nil {
		if *v < 1 || *v > MaxInboundPerMinute {
			return nil, fmt.Errorf("%w: inbound_per_minute must be 1 to %d", ErrInvalidSetting, MaxInboundPerMinute)
		}
		out[settingInboundLimit] = strconv.Itoa(*v)
	}
	if v := p.SyncIntervalMinutes; v != nil {
		if *v < 0 || time.Duration(*v)*time.Minute > MaxSyncInterval {
			return nil, fmt.Errorf("%w: sync_interval_minutes must be 0 (only when asked) to %d", ErrInvalidSetting, int(MaxSyncInterval/time.Minute))
		}
		out[settingSyncInterval] = strconv.Itoa(*v * 60)
	}
	if v := p.PropagationHosting; v != nil {
		out[settingHosting] = strconv.FormatBool(*v)
	}
	if v := p.Transport; v != nil {
		out[settingTransport] = strconv.FormatBool(*v)
	}
	if v := p.MaxMessageMB; v != nil {
		if *v < 1 || *v > MaxMessageMB {
			return nil, fmt.Errorf("%w: max_message_mb must be 1 to %d", ErrInvalidSetting, MaxMessageMB)
		}
		out[settingMaxMessage] = strconv.Itoa(*v)
	}
	if v := p.PropagationStorageMB; v != nil {
		if *v < 1 || *v > MaxPropagationStorageMB {
			return nil, fmt.Errorf("%w: propagation_storage_mb must be 1 to %d", ErrInvalidSetting, MaxPropagationStorageMB)
		}
		out[settingHostingStorage] = strconv.Itoa(*v)
	}
	return out, nil
}

func isControlOrBidi(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}

// UpdateSettings validates the patch (nothing changes when any field is bad), saves it and applies it
// live: a new name or stamp cost is announced at once, a new interval restarts the interval timer.
func (a *App) UpdateSettings(ctx context.Context, p SettingsPatch) (SettingsView, error) {
	vals, err := p.validate()
	if err != nil {
		return SettingsView{}, err
	}
	if a.prop == nil && (p.PropagationHosting != nil && *p.PropagationHosting || p.SyncIntervalMinutes != nil) {
		return SettingsView{}, fmt.Errorf("%w: %w", ErrInvalidSetting, ErrPropagationUnavailable)
	}
	a.mu.Lock()
	ann := a.ann
	a.mu.Unlock()
	a.settingsMu.Lock()
	for k, v := range vals {
		if err := a.st.SetSetting(ctx, k, v); err != nil {
			a.settingsMu.Unlock()
			return SettingsView{}, fmt.Errorf("save settings: %w", err)
		}
	}
	if err := a.applySettingsLocked(ctx, ann); err != nil {
		a.settingsMu.Unlock()
		return SettingsView{}, err
	}
	a.settingsMu.Unlock()
	if _, ok := vals[settingDisplayName]; ok || vals[settingStampCost] != "" {
		a.announceAll("settings")
	}
	a.log.Info("settings saved", "changed", len(vals))
	return a.GetSettings(), nil
}

// applySettingsLocked puts the saved settings (or the startup values) into force, telling a running
// announcer (nil before Start) a new interval. settingsMu held.
func (a *App) applySettingsLocked(ctx context.Context, ann *announcer) error {
	def := a.startupSettings()
	name, err := a.savedSetting(ctx, settingDisplayName)
	if err != nil {
		return err
	}
	if name == "" {
		name = def.DisplayName
	}
	a.r.SetDisplayName(name)
	cost := def.StampCost
	if v, err := a.savedSetting(ctx, settingStampCost); err != nil {
		return err
	} else if v != "" {
		if cost, err = strconv.Atoi(v); err != nil || cost < 0 || cost > MaxStampCost {
			a.log.Warn("saved stamp cost ignored", "value", v)
			cost = def.StampCost
		}
	}
	a.r.SetStampCost(cost)
	hold := a.opts.StrangerAttachments != StrangerAttachmentsAllow
	if v, err := a.savedSetting(ctx, settingStrangerFiles); err != nil {
		return err
	} else if v != "" {
		hold = v != StrangerAttachmentsAllow
	}
	a.holdStrangerFiles.Store(hold)
	refuse := a.opts.RefuseStrangers
	if v, err := a.savedSetting(ctx, settingRefuseStrangers); err != nil {
		return err
	} else if v != "" {
		refuse = v == "true"
	}
	a.refuseStrangers.Store(refuse)
	propagate := !a.opts.NoPropagateOnFailure
	if v, err := a.savedSetting(ctx, settingPropagateOnFail); err != nil {
		return err
	} else if v != "" {
		propagate = v == "true"
	}
	a.propagateOnFail.Store(propagate)
	if err := a.applyLimitsLocked(ctx, def); err != nil {
		return err
	}
	every := a.opts.AnnounceInterval
	if v, err := a.savedSetting(ctx, settingAnnounceInterval); err != nil {
		return err
	} else if v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s < 0 || time.Duration(s)*time.Second > MaxAnnounceInterval {
			a.log.Warn("saved announce interval ignored", "value", v)
		} else {
			every = time.Duration(s) * time.Second
		}
	}
	if every != a.announceEvery {
		a.announceEvery = every
		ann.setInterval(every)
	}
	return nil
}

func (a *App) savedSetting(ctx context.Context, key string) (string, error) {
	v, err := a.st.GetSetting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load settings: %w", err)
	}
	return v, nil
}

// applyLimitsLocked puts the inbound limit, the sync schedule and hosting into force. settingsMu held.
func (a *App) applyLimitsLocked(ctx context.Context, def Settings) error {
	limit, err := a.savedInt(ctx, settingInboundLimit, def.InboundPerMinute, 1, MaxInboundPerMinute)
	if err != nil {
		return err
	}
	a.r.SetInboundLimit(limit)
	// The message cap changes only when the owner saved one: the caps the node was built with (the
	// link layer's also bounds propagation syncs and NomadNet files) stay exactly as they are otherwise.
	if v, err := a.savedSetting(ctx, settingMaxMessage); err != nil {
		return err
	} else if v != "" {
		msgMB, err := a.savedInt(ctx, settingMaxMessage, def.MaxMessageMB, 1, MaxMessageMB)
		if err != nil {
			return err
		}
		a.r.SetMaxDirectSize(msgMB << 20)
		if a.opts.Links != nil {
			a.opts.Links.SetMaxResourceSize(int64(msgMB)<<20 + linkFraming)
		}
	}
	transport := def.Transport
	if v, err := a.savedSetting(ctx, settingTransport); err != nil {
		return err
	} else if v != "" {
		transport = v == "true"
	}
	if transport != a.tr.IsTransport() {
		a.tr.SetTransport(transport)
		a.log.Info("transport mode", "forwarding", transport)
	}
	if a.prop == nil {
		a.syncMinutes, a.hostingMB = 0, def.PropagationStorageMB
		return nil
	}
	syncS, err := a.savedInt(ctx, settingSyncInterval, def.SyncIntervalMinutes*60, 0, int(MaxSyncInterval/time.Second))
	if err != nil {
		return err
	}
	a.syncMinutes = syncS / 60
	every := time.Duration(syncS) * time.Second
	if every == 0 {
		every = -1 // only when asked
	}
	a.prop.setSyncInterval(every)
	host := def.PropagationHosting
	if v, err := a.savedSetting(ctx, settingHosting); err != nil {
		return err
	} else if v != "" {
		host = v == "true"
	}
	mb, err := a.savedInt(ctx, settingHostingStorage, def.PropagationStorageMB, 1, MaxPropagationStorageMB)
	if err != nil {
		return err
	}
	if err := a.prop.setHosting(ctx, host, int64(mb)<<20); err != nil {
		return err
	}
	a.hostingMB = mb
	return nil
}

// savedInt is a saved integer setting within [lo, hi], or def when none is saved; a stored value out
// of range is ignored with a warning.
func (a *App) savedInt(ctx context.Context, key string, def, lo, hi int) (int, error) {
	v, err := a.savedSetting(ctx, key)
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		a.log.Warn("saved setting ignored", "key", key, "value", v)
		return def, nil
	}
	return n, nil
}
