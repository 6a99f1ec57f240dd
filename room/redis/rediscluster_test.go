package redis_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisCluster is a Redis Cluster of three masters (no replicas) owned by
// a test: three redis-server processes in cluster mode on free ports.
type redisCluster struct {
	Nodes []*redisServer
}

// startRedisCluster starts the cluster and waits until every node says
// the cluster is ok; the processes are killed when the test ends. It does
// what redis-cli --cluster create --cluster-replicas 0 does (a third of
// the slots each, CLUSTER MEET), without its one-second waits: about 2 s,
// the delay a master that just started waits before it says ok.
func startRedisCluster(t testing.TB) *redisCluster {
	t.Helper()
	requireRedis(t)
	c := &redisCluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, startRedis(t, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*goredis.Client, len(c.Nodes))
	for i, s := range c.Nodes {
		clients[i] = goredis.NewClient(&goredis.Options{Addr: s.Addr})
		defer clients[i].Close()
		lo, hi := i*16384/len(c.Nodes), (i+1)*16384/len(c.Nodes)-1
		require.NoError(t, clients[i].ClusterAddSlotsRange(ctx, lo, hi).Err())
	}
	for _, s := range c.Nodes[1:] {
		host, port, err := net.SplitHostPort(s.Addr)
		require.NoError(t, err)
		require.NoError(t, clients[0].ClusterMeet(ctx, host, port).Err())
	}
	for i, cl := range clients {
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("cluster not ok on %s: %v %s", c.Nodes[i].Addr, err, info)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return c
}

// Addrs are the nodes' addresses.
func (c *redisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Client returns a cluster client, closed when the test ends.
func (c *redisCluster) Client(t testing.TB) *goredis.ClusterClient {
	t.Helper()
	cl := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second})
	t.Cleanup(func() { _ = cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, cl.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
		return m.Ping(ctx).Err()
	}))
	return cl
}
