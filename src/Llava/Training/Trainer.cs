using MultiLora.Core.Tensors;
using System.Diagnostics;
using MultiLora.Core.Diagnostics;
using MultiLora.Core.Optim;
using MultiLora.Core.Runtime;
using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Specs;
using MultiLora.Data.Templates;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>What a finished run leaves behind. FirstLoss/LastLoss are means over the first and last ten steps.</summary>
public sealed record TrainResult(string OutputDir, string FinalDir, int Steps, double FirstLoss, double LastLoss, double Seconds, long PeakResidentBytes, DataErrorReport DataErrors);

/// <summary>A step whose loss is NaN or infinite: the run stops and names the step and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop of both LLaVA stages: mixture -> samples (background workers) -> micro-batches of one
/// modality -> loss / grad_accum -> backward -> clip -> AdamW step at the scheduled learning rate.
/// Every step runs in its own dispose scope, so native memory stays flat. Checkpoints (atomic) every
/// save_every steps and at the end; --resume continues from the newest one exactly (same data order,
/// optimizer moments, RNG).
/// </summary>
public sealed class Trainer
{
    const int LossWindow = 10;
    readonly TrainRecipe _r;
    readonly ITrainingObserver _observer;

    Trainer(TrainRecipe recipe, ITrainingObserver observer)
    {
        _r = recipe;
        _observer = observer;
    }

    public static TrainResult Run(TrainRecipe recipe, ITrainingObserver observer, bool resume = false, CancellationToken ct = default) =>
        new Trainer(recipe, observer).Run(resume, ct);

    TrainResult Run(bool resume, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        TorchRuntime.EnsureLoaded();
        manual_seed(_r.Seed);
        string mixturePath = _r.Data.Mixture ?? throw new InvalidDataException("recipe: data.mixture (a dataset or mixture spec) is required");
        var source = RecipeSources.Model(_r);
        using var session = LlavaSession.Open(new SessionOptions(source, _r.Device, _r.Dtype, _r.EffectiveTemplate(source.TokenizerDir),
            ModelSettings.ParseAspect(_r.Data.Aspect, "data.aspect"), _r.Data.Resolution, Quantize: TrainingSetup.Quantization(_r)));
        var model = session.Model;
        var trainable = TrainingSetup.Apply(model, _r);
        model.model.language_model.GradientCheckpointing = _r.GradientCheckpointing;
        model.train();

        using var optimizer = CreateOptimizer(trainable);
        var errors = new DataErrorReport();
        var mixture = MixtureSource.Load(RecipeSources.Mixture(_r), errors);
        var sampler = mixture.CreateSampler();
        if (sampler.EpochLength == 0) throw new InvalidDataException($"{mixturePath}: the mixture has no samples");
        var encoder = new ConversationEncoder(session.Template, session.Tokenizer, model.Config.ImageTokenId, session.ImageTokens, _r.Data.MaxLength);
        var pipeline = new SamplePipeline(encoder, session.Images.Process, new PipelineOptions { Workers = _r.Data.Workers, MaxLength = _r.Data.MaxLength }, errors);

        var heldOut = _r.Data.Eval is { } evalSpec && _r.EvalEvery > 0 ? HeldOutSamples(evalSpec, pipeline) : null;

        int samplesPerStep = _r.BatchSize * _r.GradAccum;
        int stepsPerEpoch = (int)Math.Ceiling(sampler.EpochLength / (double)samplesPerStep);
        int totalSteps = _r.MaxSteps ?? _r.Epochs * stepsPerEpoch;
        var schedule = LrSchedule.Create(_r.Optim.Schedule, _r.Optim.WarmupRatio, totalSteps);

        var state = new TrainState(0, 0, 0, 0, null);
        if (resume && CheckpointStore.Latest(_r.OutputDir) is { } latest)
        {
            state = CheckpointStore.Load(latest, trainable, optimizer);
            if (state.RngStateBase64 is { } rng) set_rng_state(tensor(Convert.FromBase64String(rng)));
            _observer.Message($"resumed from {latest} at step {state.Step}");
        }

        using var log = new MetricsLog(_r.OutputDir);
        File.WriteAllText(Path.Combine(_r.OutputDir, "recipe.yaml"), new YamlDotNet.Serialization.SerializerBuilder()
            .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance).Build().Serialize(_r));
        _observer.Started($"stage {_r.Stage} {_r.EffectiveMethod.ToString().ToLowerInvariant()} on {source} ({_r.Dtype}, trained parameters {_r.EffectiveTrainableDtype})", totalSteps, trainable.Count);

        // first/last loss reported as means over LossWindow steps (single steps swing with the batch's modality)
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var recentLosses = new Queue<double>();
        var stepLosses = new List<double>();
        long stepTokens = 0, stepSamples = 0;
        var stepClock = Stopwatch.StartNew();
        int micro = 0;
        var parameters = trainable.All.Select(p => p.Parameter).ToList();
        var heap = new HeapReleasePolicy(_r.ParsedReleaseMemory);
        heap.Start();

        while (state.Step < totalSteps)
        {
            ct.ThrowIfCancellationRequested();
            var order = EpochOrder(mixture, sampler, state.Epoch);
            var positions = new Dictionary<string, Queue<long>>(StringComparer.Ordinal);
            for (long i = state.InputsConsumed; i < order.Count; i++)
            {
                string origin = order[(int)i].Conversation.Origin;
                if (!positions.TryGetValue(origin, out var q)) positions[origin] = q = new Queue<long>();
                q.Enqueue(i);
            }
            var remaining = order.Skip((int)state.InputsConsumed);

            foreach (var batch in ModalityBatches(pipeline.Run(remaining), _r.BatchSize))
            {
                ct.ThrowIfCancellationRequested();
                long lastPosition = batch.Samples.Max(s => positions[s.Origin].Dequeue());
                double loss = MicroStep(model, batch, session, state.Step);
                stepLosses.Add(loss);
                stepTokens += batch.Samples.Sum(s => (long)s.Encoded.Length);
                stepSamples += batch.Count;
                state = state with { InputsConsumed = lastPosition + 1 };
                if (++micro < _r.GradAccum) continue;

                micro = 0;
                double factor = schedule.Factor(state.Step);
                double lr = _r.Optim.Lr * factor;
                double gradNorm = OptimizerStep(optimizer, parameters, factor);
                double meanLoss = stepLosses.Average();
                recentLosses.Enqueue(meanLoss);
                if (recentLosses.Count > LossWindow) recentLosses.Dequeue();
                lastLoss = recentLosses.Average();
                if (double.IsNaN(firstLoss) && (recentLosses.Count == LossWindow || state.Step + 1 >= totalSteps)) firstLoss = lastLoss;
                state = state with { Step = state.Step + 1, TokensSeen = state.TokensSeen + stepTokens };
                long resident = MemoryProbe.ResidentBytes();
                if (heap.AfterStep(resident)) resident = MemoryProbe.ResidentBytes();   // inside the step's time: a release is part of its cost
                double seconds = Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
                double? evalLoss = heldOut is not null && (state.Step % _r.EvalEvery == 0 || state.Step == totalSteps) ? HeldOutLoss(model, heldOut, session) : null;
                var metrics = new StepMetrics(state.Step, totalSteps, state.Epoch, meanLoss, lr, gradNorm, stepTokens / seconds, stepSamples / seconds,
                    resident, MemoryProbe.PeakResidentBytes(), clock.Elapsed.TotalSeconds, evalLoss, stepTokens, stepSamples);
                if (evalLoss is not null) log.Write(metrics);
                if (_r.LogEvery > 0 && (state.Step % _r.LogEvery == 0 || state.Step == totalSteps)) log.Write(metrics);
                _observer.Step(metrics);
                stepLosses.Clear(); stepTokens = 0; stepSamples = 0; stepClock.Restart();

                if (_r.SaveEvery > 0 && state.Step % _r.SaveEvery == 0 && state.Step < totalSteps)
                    SaveCheckpoint(trainable, optimizer, state, model);
                if (state.Step >= totalSteps) break;
            }
            if (state.Step >= totalSteps) break;
            // a partial gradient accumulation carries into the next epoch (no drop_last)
            state = state with { Epoch = state.Epoch + 1, InputsConsumed = 0 };
            log.WriteEvent("epoch_end", new { epoch = state.Epoch, data_errors = errors.Total, first_errors = errors.Examples });
        }

        SaveCheckpoint(trainable, optimizer, state, model);
        string final = SaveFinal(session, trainable);
        log.WriteEvent("finished", new { steps = state.Step, seconds = clock.Elapsed.TotalSeconds, data_errors = errors.Total, peak_rss_bytes = MemoryProbe.PeakResidentBytes() });
        if (errors.Total > 0) _observer.Message($"skipped {errors.Total} bad record(s): {string.Join("; ", errors.Examples.Take(3))}");
        return new TrainResult(_r.OutputDir, final, state.Step, firstLoss, lastLoss, clock.Elapsed.TotalSeconds, MemoryProbe.PeakResidentBytes(), errors);
    }

    /// <summary>
    /// One AdamW group per learning rate: the language model's (LoRA or full), the projector's, the vision tower's,
    /// in that order (the order TorchSharp's AdamW stored its state in, which old checkpoints' optimizer.bin follows).
    /// </summary>
    AdamW CreateOptimizer(TrainableParameters trainable)
    {
        var o = _r.Optim;
        var groups = new List<AdamWGroup>();
        foreach (var (parameters, lr) in new[] { (trainable.Rest, o.Lr), (trainable.Projector, ProjectorLr), (trainable.VisionTower, o.VisionLr ?? o.Lr) })
            if (parameters.Count > 0) groups.Add(new AdamWGroup(parameters, lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay));
        if (groups.Count == 0) throw new InvalidOperationException("nothing to train: the method left every parameter frozen");
        return new AdamW(groups);
    }

    /// <summary>Stage 2 trains the projector at its own learning rate (LLaVA's mm_projector_lr); stage 1 at the main one.</summary>
    double ProjectorLr => _r.EffectiveMethod == TrainMethod.Projector ? _r.Optim.Lr : _r.Optim.ProjectorLr ?? _r.Optim.Lr;

    /// <summary>The epoch's inputs in training order: the text-mix draws, then LLaVA's modality/length grouping.</summary>
    List<PipelineInput> EpochOrder(MixtureSource mixture, TextMixSampler sampler, int epoch)
    {
        var inputs = mixture.Epoch(sampler, epoch).ToList();
        if (!_r.Data.GroupByModalityLength) return inputs;
        var lengths = inputs.Select(i => ModalityLengthGrouping.ModalityLength(i.Conversation)).ToList();
        var order = ModalityLengthGrouping.GroupedIndices(lengths, _r.BatchSize, 1, new SeededRandom(_r.Seed, $"group/{epoch}"));
        return order.Select(i => inputs[i]).ToList();
    }

    /// <summary>Consecutive samples in batches that never mix image and text-only samples.</summary>
    static IEnumerable<Batch> ModalityBatches(IEnumerable<TrainingSample> samples, int size)
    {
        var current = new List<TrainingSample>(size);
        foreach (var s in samples)
        {
            if (current.Count > 0 && (current.Count == size || current[0].HasImage != s.HasImage))
            {
                yield return new Batch(current);
                current = new List<TrainingSample>(size);
            }
            current.Add(s);
        }
        if (current.Count > 0) yield return new Batch(current);
    }

    /// <summary>The first eval_samples samples of the held-out spec, prepared once.</summary>
    List<Batch> HeldOutSamples(string spec, SamplePipeline pipeline)
    {
        var mixture = MixtureSource.Load(SpecLoader.LoadMixture(spec), new DataErrorReport());
        var inputs = mixture.Main.Concat(mixture.TextOnly).Take(_r.Data.EvalSamples);
        var batches = ModalityBatches(pipeline.Run(inputs), _r.BatchSize).ToList();
        if (batches.Count == 0) throw new InvalidDataException($"{spec}: the held-out spec has no samples");
        return batches;
    }

    /// <summary>Mean token loss over the held-out batches, without gradients and in eval mode.</summary>
    double HeldOutLoss(Llava.Model.LlavaForConditionalGeneration model, List<Batch> batches, LlavaSession session)
    {
        model.eval();
        try
        {
            using var _ = no_grad();
            double weighted = 0;
            long tokens = 0;
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                using var t = BatchTensors.From(batch, session.Tokenizer.PadId, session.Device, PixelType(model));
                long scored = CausalLmLoss.ScoredTokens(t.Labels);
                weighted += CausalLmLoss.Compute(model.Forward(t.InputIds, t.Pixels), t.Labels).item<float>() * scored;
                tokens += scored;
            }
            return weighted / Math.Max(1, tokens);
        }
        finally { model.train(); }
    }

    /// <summary>Pixels go in the frozen tower's dtype (under mixed precision the trained parts may differ from it).</summary>
    static ScalarType PixelType(Llava.Model.LlavaForConditionalGeneration model) => model.model.vision_tower.parameters().First().dtype;

    /// <summary>Forward and backward of one micro-batch; returns its mean token loss.</summary>
    double MicroStep(Llava.Model.LlavaForConditionalGeneration model, Batch batch, LlavaSession session, int step)
    {
        using var scope = NewDisposeScope();
        using var tensors = BatchTensors.From(batch, session.Tokenizer.PadId, session.Device, PixelType(model));
        var logits = model.Forward(tensors.InputIds, tensors.Pixels);
        var loss = CausalLmLoss.Compute(logits, tensors.Labels);
        double value = loss.item<float>();
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new TrainingDivergedException($"step {step + 1}: loss is {value} on the batch of {string.Join(", ", batch.Samples.Select(s => s.Origin).Take(8))}");
        // a text-only batch in stage 1 reaches no trained parameter (the projector sees no image): no gradient, so
        // this micro-batch moves nothing, as PyTorch leaves a parameter without a gradient (backward would refuse it)
        if (loss.requires_grad) loss.DividedBy(_r.GradAccum).backward();
        return value;
    }

    /// <summary>
    /// Clip over the gradients that exist, AdamW at the scheduled rates, then gradients to none (PyTorch's
    /// zero_grad(set_to_none=True)): a parameter that gets no gradient in the next step (the projector on a text-only
    /// batch) is then left alone, as PyTorch leaves it, and a resumed process, whose parameters start without
    /// gradients, takes exactly the steps the uninterrupted one takes.
    /// </summary>
    double OptimizerStep(AdamW optimizer, List<TorchSharp.Modules.Parameter> parameters, double scheduleFactor)
    {
        double norm = _r.Optim.MaxGradNorm > 0 ? Gradients.ClipGradNorm(parameters, _r.Optim.MaxGradNorm) : Gradients.Norm(parameters);
        if (double.IsNaN(norm) || double.IsInfinity(norm))
            throw new TrainingDivergedException($"gradient norm is {norm}: stopping before the update");
        optimizer.Step(optimizer.Groups.Select(g => g.Lr * scheduleFactor).ToList());
        Gradients.SetToNone(parameters);
        return norm;
    }

    void SaveCheckpoint(TrainableParameters trainable, AdamW optimizer, TrainState state, nn.Module model)
    {
        using var rng = get_rng_state();
        var withRng = state with { RngStateBase64 = Convert.ToBase64String(rng.bytes.ToArray()) };
        string dir = CheckpointStore.Save(_r.OutputDir, trainable, optimizer, withRng, model, _r.Model.Path);
        _observer.Message($"checkpoint {dir}");
    }

    /// <summary>
    /// OUTPUT/final: a complete llava folder for projector and full training (usable as the next stage's
    /// model), or a peft adapter folder (with the projector as modules_to_save) for LoRA and QLoRA.
    /// </summary>
    string SaveFinal(LlavaSession session, TrainableParameters trainable)
    {
        string final = Path.Combine(_r.OutputDir, "final");
        var settings = new ModelSettings(session.Template.Name, _r.Data.Aspect, _r.Data.Resolution).ToJson();
        if (trainable.Lora is { } lora)
        {
            AtomicDirectory.Write(final, temp =>
            {
                PeftAdapter.Save(temp, session.Model, lora, _r.Model.Path);
                File.WriteAllText(Path.Combine(temp, ModelSettings.FileName), settings);
            });
        }
        else
        {
            LlavaSaver.Save(final, session.Model, session.Options.Source.CompanionDirs, extraFiles: new Dictionary<string, string> { [ModelSettings.FileName] = settings });
        }
        _observer.Message($"saved {final}");
        return final;
    }
}
