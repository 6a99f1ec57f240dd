package hub_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-realtime/realtime/hub"
)

func TestNamespaces(t *testing.T) {
	h := hub.New(nil)
	h.Of("/b")
	h.Of("a") // the leading slash is added
	h.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	h.Of("/room-7") // an instance of the dynamic namespace
	var names []string
	for _, ns := range h.Namespaces() {
		names = append(names, ns.Name())
	}
	assert.Equal(t, []string{"/", "/a", "/b", "/room-7"}, names, "sorted; the dynamic namespace itself is not one")
}
