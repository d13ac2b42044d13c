using System.Diagnostics;
using MultiLora.Core.Diagnostics;
using MultiLora.Data.Errors;
using MultiLora.Data.Readers;
using MultiLora.Data.Synthetic;
using MultiLora.Eval.Running;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Evaluation;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Llava.Quickstart;

/// <summary>One phase of the quickstart with its wall time.</summary>
public sealed record QuickstartPhase(string Name, double Seconds, string Detail);

/// <summary>The before/after table: metric -> (before, after), plus phases and peak memory.</summary>
public sealed record QuickstartReport(
    IReadOnlyList<(string Task, string Metric, double Before, double After)> Metrics,
    IReadOnlyList<QuickstartPhase> Phases,
    long PeakResidentBytes,
    string OutputDir);

/// <summary>
/// The whole workflow on built-in data, no downloads: synthetic shapes data -> a small LLaVA with fresh
/// weights -> its "pretraining" (a stand-in for starting from a pretrained Vicuna and CLIP: the decoder and
/// projector learn captions of the training images) -> evaluation -> stage 1 (projector alignment) ->
/// stage 2 (QLoRA by default) -> evaluation again, through the same harness `multilora eval` uses.
/// </summary>
public static class QuickstartRunner
{
    static readonly string[] EvalTasks = ["synth_vqa", "synth_pope", "synth_mmbench"];

    /// <summary>
    /// What the base "knows" before instruction tuning, standing in for a pretrained LM and an aligned tower:
    /// captions of the training images (grounding), text-only instructions, and the instruction questions as
    /// text over a written description of the scene instead of the image (reading comprehension a pretrained
    /// LM brings: checking "a red square" against a description, finding the option letter of a word).
    /// Answering from the picture itself is what stages 1 and 2 add.
    /// </summary>
    public const string PretrainSpec = "pretrain.yaml";
    const string QuestionText = "questions_text.jsonl";
    const string PretrainMixture = $$"""
        # Quickstart base pretraining: image captions plus text-only instructions.
        text_mix: 0.5
        seed: 0
        datasets:
          - name: captions
            files: [{{SynthOutput.Stage1}}]
            format: json
            image_root: .
          - name: text
            files: [{{SynthOutput.TextOnly}}]
            format: jsonl
            kind: text
          - name: questions-over-descriptions
            files: [{{QuestionText}}]
            format: jsonl
            kind: text
        """;

    /// <summary>
    /// The stage-2 conversations with the image placeholder replaced by the scene's caption (from the stage-1
    /// record of the same training image), as text-only records: the answer is in the text, not the picture.
    /// </summary>
    static void WriteQuestionText(string data)
    {
        var captions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in ConversationReaders.ReadFile(Path.Combine(data, SynthOutput.Stage1), DataErrorPolicy.Fail()))
            captions[c.Image!.ToString()] = c.Turns[^1].Value;
        using var writer = new LlavaJsonWriter(Path.Combine(data, QuestionText), jsonLines: true);
        foreach (var c in ConversationReaders.ReadFile(Path.Combine(data, SynthOutput.Stage2), DataErrorPolicy.Fail()))
        {
            if (!captions.TryGetValue(c.Image!.ToString(), out var caption))
                throw new InvalidDataException($"{c.Origin}: no stage-1 caption for image {c.Image}");
            var turns = c.Turns.Select(t => t with { Value = t.Value.Replace(ImagePlaceholder.Token + "\n", $"Scene: {caption}\n", StringComparison.Ordinal) }).ToList();
            writer.Write(c with { Turns = turns, Image = null });
        }
    }

    /// <summary>
    /// The synthetic data plus the base-pretraining mixture (pretrain.yaml: captions, text-only instructions, questions
    /// over written scene descriptions) that the quickstart and the toy scaling grid start from.
    /// </summary>
    public static SynthSummary PrepareData(string data, SynthOptions options)
    {
        var summary = SyntheticDatasetGenerator.Generate(data, options);
        WriteQuestionText(data);
        File.WriteAllText(Path.Combine(data, PretrainSpec), PretrainMixture);
        return summary;
    }

    public interface IHost
    {
        T Train<T>(Func<ITrainingObserver, T> run);
        RunResults Evaluate(EvalRunOptions options, Func<EvalRunOptions, RunResults> run);
        void Phase(string text);
    }

    public static QuickstartReport Run(QuickstartOptions o, IHost host)
    {
        var phases = new List<QuickstartPhase>();
        string root = Path.GetFullPath(o.OutputDir);
        string data = Path.Combine(root, "data");
        string Timed(string name, Func<string> body)
        {
            host.Phase(name);
            var clock = Stopwatch.StartNew();
            string detail = body();
            phases.Add(new QuickstartPhase(name, clock.Elapsed.TotalSeconds, detail));
            return detail;
        }

        Timed("synthetic data", () =>
        {
            var s = PrepareData(data, new SynthOptions { Resolution = o.Resolution, Train = o.TrainImages, Eval = o.EvalQuestions, Seed = o.Seed });
            return $"{s.TrainImages} images, {s.Stage2Records} instructions, {s.TextRecords} text-only, {s.PopeQuestions} POPE + {s.MmBenchQuestions} MMBench questions";
        });
        string fresh = Path.Combine(root, "base-init");
        Timed("build small LLaVA", () => BuiltInModel.Write(fresh, new TinyLlavaPreset(ImageSize: o.Resolution), o.Seed));

        string pretrained = Path.Combine(root, "base");
        Timed("pretrain base", () => Train(host, Recipe(o, fresh, PretrainSpec, 2, TrainMethod.Full, "llava_hf", o.WarmupSteps, pretrained + "-run"), pretrained));

        RunResults? before = null;
        Timed("evaluate before", () => Describe(before = Evaluate(host, o, pretrained, null, Path.Combine(root, "eval-before"))));

        string stage1 = Path.Combine(root, "stage1");
        Timed("stage 1: projector", () => Train(host, Recipe(o, pretrained, SynthOutput.Stage1Spec, 1, TrainMethod.Projector, "plain", o.Stage1Steps, stage1), null));
        string stage1Model = Path.Combine(stage1, "final");

        string stage2 = Path.Combine(root, "stage2-" + o.Method.ToString().ToLowerInvariant());
        Timed($"stage 2: {o.Method.ToString().ToLowerInvariant()}", () => Train(host, Recipe(o, stage1Model, SynthOutput.Stage2Spec, 2, o.Method, "llava_hf", o.Stage2Steps, stage2), null));
        bool adapter = o.Method is TrainMethod.Lora or TrainMethod.Qlora;
        string stage2Final = Path.Combine(stage2, "final");

        RunResults? after = null;
        Timed("evaluate after", () => Describe(after = Evaluate(host, o, adapter ? stage1Model : stage2Final, adapter ? stage2Final : null, Path.Combine(root, "eval-after"))));

        var metrics = new List<(string, string, double, double)>();
        foreach (var task in after!.Tasks)
        {
            var b = before!.Tasks.First(t => t.Task == task.Task);
            foreach (var (metric, value) in task.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (metric is not ("n" or "failed") && !metric.StartsWith("category_accuracy", StringComparison.Ordinal))
                    metrics.Add((task.Task, metric, b.Metrics.GetValueOrDefault(metric), value));
        }
        return new QuickstartReport(metrics, phases, MemoryProbe.PeakResidentBytes(), root);
    }

    static TrainRecipe Recipe(QuickstartOptions o, string model, string spec, int stage, TrainMethod method, string template, int steps, string output) => new()
    {
        Model = new ModelSection { Path = model },
        Data = new DataSection { Mixture = Path.Combine(Path.GetFullPath(o.OutputDir), "data", spec), MaxLength = 256, Aspect = "crop", Workers = 1 },
        Stage = stage,
        Method = method.ToString().ToLowerInvariant(),
        Template = template,
        Lora = new LoraSection { Rank = o.LoraRank },
        Optim = new OptimSection { Lr = 2e-3, ProjectorLr = stage == 1 ? null : 2e-4, WarmupRatio = 0.03, MaxGradNorm = 1.0 },
        BatchSize = o.BatchSize,
        MaxSteps = steps,
        Seed = o.Seed,
        OutputDir = output,
        LogEvery = 10,
    };

    /// <summary>Runs a recipe; when <paramref name="publishAs"/> is given the run's final model folder is moved there.</summary>
    static string Train(IHost host, TrainRecipe recipe, string? publishAs)
    {
        var result = host.Train(observer => Trainer.Run(recipe, observer));
        if (publishAs is not null)
        {
            if (Directory.Exists(publishAs)) Directory.Delete(publishAs, true);
            Directory.Move(result.FinalDir, publishAs);
        }
        return $"{result.Steps} steps, loss {result.FirstLoss:0.000} -> {result.LastLoss:0.000}";
    }

    static RunResults Evaluate(IHost host, QuickstartOptions o, string model, string? adapter, string output)
    {
        if (Directory.Exists(output)) Directory.Delete(output, true);
        using var session = LlavaSession.Open(new SessionOptions(new ModelSource(model, AdapterDir: adapter), Template: "llava_hf"));
        var options = new EvalRunOptions(EvalTasks, Path.Combine(Path.GetFullPath(o.OutputDir), "data"), output, BatchSize: 16);
        return host.Evaluate(options, opts => EvalRunner.Run(new LlavaEvalModel(session, adapter ?? model), opts));
    }

    static string Describe(RunResults r) =>
        string.Join(", ", r.Tasks.Select(t => t.Metrics.FirstOrDefault(m => m.Key is "accuracy" or "exact_match") is { Key: not null } m ? $"{t.Task} {m.Key} {m.Value:0.#}" : t.Task));
}
