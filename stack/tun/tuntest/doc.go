// Package tuntest helps tests that need a real TUN device: it skips them
// with the reason when the machine cannot create one, and gives each test
// its own network namespace, removed when the test ends.
package tuntest
