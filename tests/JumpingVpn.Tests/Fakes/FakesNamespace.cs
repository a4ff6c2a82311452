// The shared fakes (ManualTimeProvider, DeterministicRandom, WireSender, ChannelTun, ChannelNetwork) live
// in tests/JumpingVpn.Testing, namespace JumpingVpn.Testing, which the project imports for every file
// (JumpingVpn.Tests.csproj). This declaration keeps `using JumpingVpn.Tests.Fakes;` in test files valid.
namespace JumpingVpn.Tests.Fakes;
