// simrate: ns-3's run of stacklab's BenchmarkSimRate network, the peer of
// that row in `make bench` (bench/run.sh builds it against Debian's
// libns3-dev 3.37 and runs it). Two nodes joined by a point-to-point link
// of 1 Gbit/s with 10 ms of delay each way; one bulk TCP connection
// (CUBIC, 1448-byte segments, 4 MB buffers as in stacklab's benchmark)
// for a number of simulated seconds. It times Simulator::Run on the wall
// clock, counts the frames the two devices sent, and prints a line in
// `go test -bench` format so bench/cmd/benchtable reads it beside
// stacklab's figures:
//
//   BenchmarkNS3SimRate/pcap=off 1 <ns> ns/op <p> pkts/s <m> sim-Mbit/s <n> pkts/run
//
// Usage: simrate [seconds [pcap-prefix]]; with a prefix, ns-3 writes a
// pcap per device (PREFIX-0-0.pcap, PREFIX-1-0.pcap).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

using namespace ns3;

static uint64_t frames = 0;

static void CountTx(Ptr<const Packet>) { frames++; }

int main(int argc, char *argv[]) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  std::string pcap = argc > 2 ? argv[2] : "";
  if (seconds <= 0) {
    std::fprintf(stderr, "simrate: seconds must be positive, got %s\n", argv[1]);
    return 2;
  }

  Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TcpCubic::GetTypeId()));
  Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
  Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(4 << 20));
  Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(4 << 20));
  Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(true));

  NodeContainer nodes;
  nodes.Create(2);
  PointToPointHelper p2p;
  p2p.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
  p2p.SetChannelAttribute("Delay", StringValue("10ms"));
  NetDeviceContainer devs = p2p.Install(nodes);

  InternetStackHelper inet;
  inet.Install(nodes);
  Ipv4AddressHelper addr;
  addr.SetBase("10.0.0.0", "255.255.255.0");
  Ipv4InterfaceContainer ifs = addr.Assign(devs);

  const uint16_t port = 5001;
  PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
  ApplicationContainer sinkApp = sink.Install(nodes.Get(1));
  sinkApp.Start(Seconds(0));
  BulkSendHelper bulk("ns3::TcpSocketFactory", InetSocketAddress(ifs.GetAddress(1), port));
  bulk.SetAttribute("MaxBytes", UintegerValue(0));
  bulk.SetAttribute("SendSize", UintegerValue(64 << 10));
  ApplicationContainer bulkApp = bulk.Install(nodes.Get(0));
  bulkApp.Start(Seconds(0));

  for (uint32_t i = 0; i < devs.GetN(); i++) {
    devs.Get(i)->TraceConnectWithoutContext("MacTx", MakeCallback(&CountTx));
  }
  if (!pcap.empty()) {
    p2p.EnablePcapAll(pcap, false);
  }

  Simulator::Stop(Seconds(seconds));
  auto t0 = std::chrono::steady_clock::now();
  Simulator::Run();
  auto t1 = std::chrono::steady_clock::now();
  uint64_t rx = DynamicCast<PacketSink>(sinkApp.Get(0))->GetTotalRx();
  Simulator::Destroy();

  double wall = std::chrono::duration<double>(t1 - t0).count();
  std::printf("BenchmarkNS3SimRate/pcap=%s 1 %.0f ns/op %.0f pkts/s %.1f sim-Mbit/s %llu pkts/run\n",
              pcap.empty() ? "off" : "on", wall * 1e9, frames / wall, rx * 8 / seconds / 1e6,
              (unsigned long long)frames);
  return 0;
}
