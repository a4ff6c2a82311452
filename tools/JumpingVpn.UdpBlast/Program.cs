using JumpingVpn.UdpBlast;

// jvpn-udpblast: the inner-UDP GSO workload of bench/throughput.sh (docs/performance.md "How to reproduce").
// A user mistake (bad address, unknown option) is one line and exit code 2; a socket error one line and 1.
if (!BlastOptions.TryParse(args, out BlastOptions? options, out string? error))
{
    if (error is null)
    {
        Console.WriteLine(BlastOptions.Usage);
        return 0;
    }
    Console.Error.WriteLine($"jvpn-udpblast: {error}");
    Console.Error.WriteLine("Run 'jvpn-udpblast --help' for usage.");
    return 2;
}

try
{
    BlastReport report = options.Mode == BlastMode.Send ? GsoSender.Run(options) : DatagramCounter.Run(options);
    Console.WriteLine(report.ToJson());
    return 0;
}
catch (System.Net.Sockets.SocketException ex)
{
    Console.Error.WriteLine($"jvpn-udpblast: {options.Mode.ToString().ToLowerInvariant()} on {options.Endpoint}: {ex.Message}");
    return 1;
}
catch (IOException ex)
{
    Console.Error.WriteLine($"jvpn-udpblast: {ex.Message}");
    return 1;
}
