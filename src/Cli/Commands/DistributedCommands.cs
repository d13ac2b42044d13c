using System.CommandLine;
using MultiLora.Core.Runtime;
using MultiLora.Distributed;
using MultiLora.Distributed.Watchdog;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora distributed check`: under mpirun/srun/torchrun, shows what each rank detected and runs every
/// collective once with predictable values (the first thing to try on a new cluster before a training run).
/// </summary>
static class DistributedCommands
{
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = $"Collective backend: {DistributedBackends.Choices}.", DefaultValueFactory = _ => "auto" };
        var device = new Option<string>("--device") { Description = "cpu, or cuda (each rank takes cuda:LOCAL_RANK).", DefaultValueFactory = _ => "cpu" };
        var repeat = new Option<int>("--repeat") { Description = "Run the checks this many times (a soak test of the interconnect).", DefaultValueFactory = _ => 1 };
        var heartbeat = new Option<double>("--heartbeat-timeout") { Description = "Seconds of silence after which a peer counts as lost.", DefaultValueFactory = _ => WatchdogOptions.Default.HeartbeatTimeout.TotalSeconds };
        var failRank = new Option<int?>("--simulate-failure") { Description = "This rank raises an error after the checks: the others must stop at once, naming it (tests the failure path of a set-up)." };
        var check = new Command("check", "Detect rank/world/local rank from the launcher and run each collective on every rank.");
        check.Options.Add(backend);
        check.Options.Add(device);
        check.Options.Add(repeat);
        check.Options.Add(heartbeat);
        check.Options.Add(failRank);
        check.SetAction(p => Check(DistributedBackends.Parse(p.GetValue(backend)!, "--backend"), p.GetValue(device)!, Math.Max(1, p.GetValue(repeat)),
            WatchdogOptions.Default with { HeartbeatTimeout = TimeSpan.FromSeconds(p.GetValue(heartbeat)) }, p.GetValue(failRank)));
        var cmd = new Command("distributed", "Data-parallel set-up: launcher detection and collective checks (mpi, nccl).");
        cmd.Subcommands.Add(check);
        return cmd;
    }

    static int Check(DistributedBackend backend, string deviceChoice, int repeat, WatchdogOptions watchdog, int? failRank)
    {
        var launch = LaunchEnvironment.Detect();
        var device = TorchRuntime.ResolveDevice(launch.RankDevice(deviceChoice));
        using var collectives = Collectives.Start(backend, launch, device.type, watchdog);
        try
        {
            return RunChecks(collectives, launch, device, repeat, failRank);
        }
        catch (Exception e)
        {
            collectives.Fail(e.Message);   // the other ranks stop now instead of waiting for a heartbeat timeout
            throw;
        }
    }

    static int RunChecks(ICollectives collectives, LaunchEnvironment launch, TorchSharp.torch.Device device, int repeat, int? failRank)
    {
        var checks = CollectiveSelfTest.Run(collectives, device);
        for (int i = 1; i < repeat && checks.All(c => c.Passed); i++) checks = CollectiveSelfTest.Run(collectives, device);
        int failed = checks.Count(c => !c.Passed);
        foreach (var c in checks.Where(c => !c.Passed)) Console.WriteLine($"rank {collectives.Rank}: FAILED {c.Name}: {c.Detail}");
        Console.WriteLine($"{launch}: {checks.Count - failed}/{checks.Count} collective checks passed{(repeat > 1 ? $" {repeat} times" : "")} on {device} over {collectives.Description}");
        if (failRank == collectives.Rank) throw new InvalidOperationException($"rank {collectives.Rank}: simulated failure (--simulate-failure {failRank})");
        if (failed > 0) collectives.Fail($"{failed} collective checks failed");
        return failed == 0 ? 0 : 1;
    }
}
