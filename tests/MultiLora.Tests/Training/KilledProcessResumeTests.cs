using System.Diagnostics;
using System.Text;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.Training;

namespace MultiLora.Tests.Training;

/// <summary>
/// A real kill: `multilora train` (the built CLI, as a child process) is killed with SIGKILL once a checkpoint is on
/// disk, then a second process resumes it; the final adapter equals the one an uninterrupted process writes, byte for byte.
/// </summary>
[Collection(Cli.CliCollection.Name)]
public sealed class KilledProcessResumeTests : IDisposable
{
    const int Steps = 14, SaveEvery = 2, KillAfterCheckpoint = 4;
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    [Fact]
    public void TrainingKilledWithSigkill_ResumesToTheUninterruptedFinalWeights()
    {
        string straight = Path.Combine(_work.Root, "straight"), killed = Path.Combine(_work.Root, "killed");
        Assert.Equal(0, Train(Recipe(straight)).WaitForExitCode());

        var run = Train(Recipe(killed));
        // kill -9 as soon as a checkpoint at or after KillAfterCheckpoint exists, wherever the run then is
        while (!(CheckpointStore.Latest(killed) is { } latest && int.Parse(Path.GetFileName(latest)[CheckpointStore.Prefix.Length..]) >= KillAfterCheckpoint))
        {
            Assert.False(run.Process.HasExited, $"the run ended before checkpoint {KillAfterCheckpoint}: {run.Output}");
            Thread.Sleep(20);
        }
        Assert.Equal(0, Kill(run.Process.Id, SigKill));
        Assert.Equal(128 + 9, run.WaitForExitCode());   // died of SIGKILL
        Assert.False(Directory.Exists(Path.Combine(killed, "final")), "the killed run finished before the kill: nothing was tested");

        Assert.Equal(0, Train(Recipe(killed), "--resume").WaitForExitCode());
        string adapter = Path.Combine("final", "adapter_model.safetensors");
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, adapter)), File.ReadAllBytes(Path.Combine(killed, adapter)));
    }

    const int SigKill = 9;

    /// <summary>kill(2): the signal itself, as `kill -9` sends it (no shell, no procps needed).</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    /// <summary>The tiny LoRA recipe of TinyTrainingWorkspace as a YAML file, writing to <paramref name="output"/>.</summary>
    string Recipe(string output)
    {
        string path = output + ".yaml";
        File.WriteAllText(path, $"""
            model: {"{"}path: '{_work.Base}'{"}"}
            data: {"{"}mixture: '{Path.Combine(_work.Data, SynthOutput.Stage2Spec)}', max_length: 256, aspect: crop{"}"}
            method: lora
            template: llava_hf
            lora: {"{"}rank: 8{"}"}
            optim: {"{"}lr: 0.003{"}"}
            batch_size: 4
            max_steps: {Steps}
            save_every: {SaveEvery}
            seed: 3
            output_dir: '{output}'
            """);
        return path;
    }

    sealed record ChildRun(Process Process, StringBuilder Log)
    {
        public string Output { get { lock (Log) return Log.ToString(); } }

        public int WaitForExitCode()
        {
            // generous: this machine's cores may be shared; the run itself takes seconds
            if (!Process.WaitForExit(TimeSpan.FromMinutes(10))) { Process.Kill(); throw new TimeoutException($"multilora train did not finish: {Output}"); }
            Process.WaitForExit();
            return Process.ExitCode;
        }
    }

    /// <summary>`dotnet multilora.dll train --recipe R [extra]` from the test's output folder, output collected.</summary>
    static ChildRun Train(string recipe, params string[] extra)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "multilora.dll"), "train", "--recipe", recipe }.Concat(extra))
            start.ArgumentList.Add(a);
        var log = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildRun(process, log);
    }
}
