using MultiLora.Eval.Running;
using MultiLora.Llava.Quickstart;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

using Xunit.Abstractions;

namespace MultiLora.Tests.Torture;

/// <summary>
/// The main job in miniature under GC torture: synthetic data, the pipeline's workers and the trainer together
/// through pretraining, stage 1, stage 2 (QLoRA) and both evaluations, against the same run without torture.
/// </summary>
[Collection(TortureCollection.Name)]
public sealed class QuickstartTortureTests(ITestOutputHelper log)
{
    sealed class RecordingHost : QuickstartRunner.IHost
    {
        public List<double> Losses { get; } = [];
        public T Train<T>(Func<ITrainingObserver, T> run) => run(new Observer(Losses));
        public RunResults Evaluate(EvalRunOptions options, Func<EvalRunOptions, RunResults> run) => run(options);
        public void Phase(string text) { }

        sealed class Observer(List<double> losses) : ITrainingObserver
        {
            public void Started(string description, int totalSteps, long trainableParameters) { }
            public void Step(StepMetrics metrics) => losses.Add(metrics.Loss);
            public void Message(string text) { }
        }
    }

    static (List<double> Losses, List<(string, string, double, double)> Metrics) Quickstart(string output, TrainMethod method) 
    {
        var host = new RecordingHost();
        var options = new QuickstartOptions
        {
            OutputDir = output, Method = method, Resolution = 16, TrainImages = 12, EvalQuestions = 2,
            WarmupSteps = 2, Stage1Steps = 1, Stage2Steps = 2, BatchSize = 4, LoraRank = 4,
        };
        var report = QuickstartRunner.Run(options, host);
        return (host.Losses, report.Metrics.ToList());
    }

    [Fact]
    public void ShortQuickstart_UnderGcTorture_EqualsTheUntorturedRun()
    {
        using var tmp = Fixture.Temp();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Quickstart(tmp.File("plain"), TrainMethod.Qlora);
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var (tortured, report) = GcTorture.Run(() => Quickstart(tmp.File("tortured"), TrainMethod.Qlora));
        log.WriteLine(report.ToString());
        Assert.Equal(2 + 1 + 2, plain.Losses.Count);
        Assert.Equal(plain.Losses, tortured.Losses);
        Assert.Equal(plain.Metrics, tortured.Metrics);
        report.AssertClean("quickstart");
    }
}
