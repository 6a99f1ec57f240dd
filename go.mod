module github.com/go-realtime/realtime

go 1.26

require (
	github.com/gobwas/ws v1.5.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

ignore (
	./e2e/node_modules
	./examples/node_modules
	./interop/node_modules
)
