package transport

import (
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// IngressControl configures how announces for unknown destinations arriving
// in bursts are held back and released slowly, per interface, as the
// reference's Interface.should_ingress_limit and process_held_announces do.
// Zero fields take the reference defaults (Interface.IC_*).
type IngressControl struct {
	// Disabled turns ingress control off.
	Disabled bool
	// NewTime is how long after attaching an interface counts as new (2h).
	NewTime time.Duration
	// BurstFreqNew and BurstFreq are the announce rates in Hz above which a
	// burst starts, for new and established interfaces (3 and 10).
	BurstFreqNew, BurstFreq float64
	// BurstHold is how long the rate must stay low before a burst ends (15s).
	BurstHold time.Duration
	// BurstPenalty delays the first release after a burst starts (15s).
	BurstPenalty time.Duration
	// HeldReleaseInterval is the delay between two released announces (5s).
	HeldReleaseInterval time.Duration
	// MaxHeld bounds held announces per interface (256).
	MaxHeld int
}

func (c IngressControl) withDefaults() IngressControl {
	if c.NewTime <= 0 {
		c.NewTime = 2 * time.Hour
	}
	if c.BurstFreqNew <= 0 {
		c.BurstFreqNew = 3
	}
	if c.BurstFreq <= 0 {
		c.BurstFreq = 10
	}
	if c.BurstHold <= 0 {
		c.BurstHold = 15 * time.Second
	}
	if c.BurstPenalty <= 0 {
		c.BurstPenalty = 15 * time.Second
	}
	if c.HeldReleaseInterval <= 0 {
		c.HeldReleaseInterval = 5 * time.Second
	}
	if c.MaxHeld <= 0 {
		c.MaxHeld = 256
	}
	return c
}

// Reference constants of RNS/Interfaces/Interface.py.
const (
	freqSamples      = 48               // IA_FREQ_SAMPLES
	freqMinSamples   = 2                // IC_DEQUE_MIN_SAMPLE
	freqDecay        = 10 * time.Second // AR_FREQ_DECAY
	maxQueuedPerLink = 4096             // Reticulum.MAX_QUEUED_ANNOUNCES
	queuedLife       = 3 * time.Hour    // Reticulum.QUEUED_ANNOUNCE_LIFE
	announceCap      = 0.02             // Reticulum.ANNOUNCE_CAP / 100
)

// freqRing is a bounded deque of event times with the reference's frequency
// estimate (Interface.incoming_announce_frequency).
type freqRing struct {
	t []time.Time
}

func (r *freqRing) add(now time.Time) {
	if len(r.t) >= freqSamples {
		r.t = r.t[1:]
	}
	r.t = append(r.t, now)
}

// hz returns samples per second over the window; like the reference it drops
// the oldest sample when the window exceeds the decay time.
func (r *freqRing) hz(now time.Time) float64 {
	n := len(r.t)
	if n <= freqMinSamples {
		return 0
	}
	span := now.Sub(r.t[0])
	if span > freqDecay {
		r.t = r.t[1:]
	}
	if span <= 0 {
		return 0
	}
	return float64(n) / span.Seconds()
}

// heldAnnounce is an announce withheld by ingress control.
type heldAnnounce struct {
	raw  []byte
	hops uint8
}

// queuedAnnounce waits for the interface's announce bandwidth cap.
type queuedAnnounce struct {
	dest    wire.Hash
	queued  time.Time
	hops    uint8
	emitted uint64
	raw     []byte
}

// ifState is what transport keeps per attached interface.
type ifState struct {
	i        iface.Interface
	attached time.Time
	ifac     *identity.IFAC

	// localClient: a program attached to our shared instance; upstream:
	// our connection to another program's shared instance (shared.go).
	localClient, upstream bool

	ia freqRing // incoming announces

	burstActive                  bool
	burstActivated, burstSustain time.Time
	heldRelease                  time.Time
	held                         map[wire.Hash]heldAnnounce

	announceAllowedAt time.Time
	announceQueue     []queuedAnnounce

	announcesIn, announcesOut uint64
	pathRequestsIn            uint64
	violations, filterHits    uint64
	heldTotal, releasedTotal  uint64
}

func newIfState(i iface.Interface, now time.Time) *ifState {
	return &ifState{i: i, attached: now, held: map[wire.Hash]heldAnnounce{}}
}

func (s *ifState) threshold(c *IngressControl, now time.Time) float64 {
	if now.Sub(s.attached) < c.NewTime {
		return c.BurstFreqNew
	}
	return c.BurstFreq
}

// shouldIngressLimit is Interface.should_ingress_limit.
func (s *ifState) shouldIngressLimit(c *IngressControl, now time.Time) bool {
	if c.Disabled {
		return false
	}
	th := s.threshold(c, now)
	f := s.ia.hz(now)
	if s.burstActive {
		if f < th && now.After(s.burstActivated.Add(c.BurstHold)) && now.After(s.burstSustain.Add(c.BurstHold)) {
			if len(s.ia.t) >= freqMinSamples {
				s.burstActive = false
			}
		} else if f >= th {
			s.burstSustain = now
		}
		return true
	}
	if f > th {
		s.burstActive = true
		s.burstActivated, s.burstSustain = now, now
		s.heldRelease = now.Add(c.BurstPenalty)
		return true
	}
	return false
}

// hold is Interface.hold_announce: keep the newest announce per destination,
// up to MaxHeld destinations.
func (s *ifState) hold(c *IngressControl, dest wire.Hash, raw []byte, hops uint8) {
	if int(hops) >= wire.MaxHops-1 {
		return
	}
	if _, ok := s.held[dest]; ok || len(s.held) < c.MaxHeld {
		s.held[dest] = heldAnnounce{raw: raw, hops: hops}
		s.heldTotal++
	}
}

// releaseHeld is Interface.process_held_announces: when the burst has calmed
// and the release time has come, release the held announce with the fewest
// hops.
func (s *ifState) releaseHeld(c *IngressControl, now time.Time) ([]byte, bool) {
	if len(s.held) == 0 || !now.After(s.heldRelease) {
		return nil, false
	}
	if s.ia.hz(now) >= s.threshold(c, now) {
		return nil, false
	}
	var best wire.Hash
	found, minHops := false, uint8(wire.MaxHops)
	for d, h := range s.held {
		if h.hops < minHops || (h.hops == minHops && found && lessHash(d, best)) {
			best, minHops, found = d, h.hops, true
		}
	}
	if !found {
		return nil, false
	}
	raw := s.held[best].raw
	delete(s.held, best)
	s.heldRelease = now.Add(c.HeldReleaseInterval)
	s.releasedTotal++
	return raw, true
}

func lessHash(a, b wire.Hash) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
