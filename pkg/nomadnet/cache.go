package nomadnet

import (
	"container/list"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// cacheKey names a page by node, path and form data.
func cacheKey(node wire.Hash, p string, fields map[string]string) string {
	var sb strings.Builder
	sb.WriteString(node.String())
	sb.WriteByte(':')
	sb.WriteString(p)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Keys and values are UTF-8 without control characters, so NUL
		// separators cannot be forged by a field.
		sb.WriteByte(0)
		sb.WriteString(k)
		sb.WriteByte(0)
		sb.WriteString(fields[k])
	}
	return sb.String()
}

type cacheEntry struct {
	key     string
	page    Page
	expires time.Time
}

// pageCache is an LRU of pages bounded by the bytes of their content;
// entries also expire after their page's cache time.
type pageCache struct {
	mu    sync.Mutex
	max   int
	used  int
	order *list.List // front: most recently used
	byKey map[string]*list.Element
}

func newPageCache(max int) *pageCache {
	return &pageCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *pageCache) get(key string, now time.Time) (Page, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return Page{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.removeLocked(el)
		return Page{}, false
	}
	c.order.MoveToFront(el)
	return e.page, true
}

func (c *pageCache) put(key string, p Page, ttl time.Duration) {
	size := len(p.Content) + len(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
	if ttl <= 0 || size > c.max {
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, page: p, expires: p.FetchedAt.Add(ttl)})
	c.used += size
	for c.used > c.max {
		c.removeLocked(c.order.Back())
	}
}

func (c *pageCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
}

func (c *pageCache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.used -= len(e.page.Content) + len(e.key)
}

// bytes returns the bytes held.
func (c *pageCache) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
