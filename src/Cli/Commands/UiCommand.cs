using System.CommandLine;
using System.Diagnostics;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Ui.SignIn;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn ui` (run by the desktop user): asks the manager for a one-time sign-in link and opens it in the default
/// browser (docs/ui.md "Signing in"); `--print` prints it instead.
/// </summary>
internal static class UiCommand
{
    public static Command Create()
    {
        var print = new Option<bool>("--print") { Description = "Print the sign-in link instead of opening a browser (valid once, for 60 s)" };
        var socket = new Option<string>("--socket") { Description = "The manager's sign-in socket (Linux)", DefaultValueFactory = _ => SignInProtocol.DefaultSocketPath };
        var cmd = new Command("ui", "Open the jvpn UI in your browser (the manager must be running).") { print, socket };
        cmd.SetAction((parse, cancel) => RunAsync(parse.GetValue(print), parse.GetValue(socket)!, cancel));
        return cmd;
    }

    private static async Task<int> RunAsync(bool print, string socketPath, CancellationToken cancel)
    {
        Uri link;
        try
        {
            link = await SignInClient.RequestAsync(socketPath, cancel);
        }
        catch (SignInException e)
        {
            Console.Error.WriteLine("jvpn ui: " + e.Message);
            return e.Permission ? ExitCodes.NoPrivilege : ExitCodes.Failure;
        }
        if (print)
        {
            Console.Out.WriteLine(link.AbsoluteUri);
            return ExitCodes.Ok;
        }
        try
        {
            using Process? opened = HostComposition.Current.NativeNamedPipes
                ? Process.Start(new ProcessStartInfo(link.AbsoluteUri) { UseShellExecute = true })
                : Process.Start(new ProcessStartInfo("xdg-open", [link.AbsoluteUri]) { UseShellExecute = false });
            return ExitCodes.Ok;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"jvpn ui: cannot open a browser ({e.Message}); run `jvpn ui --print` and open the link yourself");
            return ExitCodes.Failure;
        }
    }
}
