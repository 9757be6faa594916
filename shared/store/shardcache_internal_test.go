package store

import "testing"

// TestShardCacheOnlyGrows: an eventually consistent read may return an
// ACCOUNT item from before set-shards; the cache keeps the larger count it
// read, so readers never stop reading shards that exist. (The embedded
// server is always consistent, so this is checked on the cache itself.)
func TestShardCacheOnlyGrows(t *testing.T) {
	var c shardCache
	if n, known := c.get("acme"); n != 1 || known {
		t.Fatalf("unknown organisation: %d, known %v; want 1, false", n, known)
	}
	c.set("acme", 8)
	c.set("acme", 1) // a stale read
	if n, known := c.get("acme"); n != 8 || !known {
		t.Errorf("after reads of 8 then a stale 1: %d, known %v; want 8", n, known)
	}
}
