// Package spec is the scenario file: its schema (hosts, routers,
// switches, links with their impairments, timed events and faults,
// programs and expectations as parsed by the packages lang, pattern and
// expect), the YAML loader that builds it with file:line:col errors, and
// the limits checked before parsing. Package scenario runs what it loads.
package spec
