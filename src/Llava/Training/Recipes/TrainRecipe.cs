using MultiLora.Data.Templates;
using MultiLora.Core.Runtime;

namespace MultiLora.Llava.Training.Recipes;

/// <summary>What is trained. Stage 1 trains the projector only; stage 2 the language model as <see cref="TrainRecipe.Method"/> says.</summary>
public enum TrainMethod { Projector, Full, Lora, Qlora }

/// <summary>
/// A training recipe (YAML, snake_case keys; unknown keys are errors). Every default lives here.
/// Paths are relative to the recipe file. Overridable from the CLI: --set lora.rank=64.
/// </summary>
public sealed class TrainRecipe
{
    public ModelSection Model { get; set; } = new();
    public DataSection Data { get; set; } = new();
    /// <summary>1 = feature alignment (projector only, plain template); 2 = instruction tuning.</summary>
    public int Stage { get; set; } = 2;
    public string Method { get; set; } = "lora";
    /// <summary>Conversation template; null: plain for stage 1; for stage 2 the model's chat_template, else vicuna_v1.</summary>
    public string? Template { get; set; }
    public LoraSection Lora { get; set; } = new();
    public QuantSection Quant { get; set; } = new();
    public OptimSection Optim { get; set; } = new();
    public int BatchSize { get; set; } = 4;
    public int GradAccum { get; set; } = 1;
    public int Epochs { get; set; } = 1;
    /// <summary>Stop after this many optimizer steps (null: run the epochs).</summary>
    public int? MaxSteps { get; set; }
    /// <summary>Held-out loss every N steps on data.eval (0: never).</summary>
    public int EvalEvery { get; set; }
    /// <summary>Checkpoint every N steps (0: only at the end).</summary>
    public int SaveEvery { get; set; }
    public int LogEvery { get; set; } = 1;
    /// <summary>
    /// Read the steps' losses and gradient norms back from the device every N steps, in one transfer (and always before
    /// an evaluation, a checkpoint and at the end); NaN/inf is caught there. Each read makes the host wait for a GPU's
    /// queue to drain, so a GPU run reads every 10 steps unless told; on the CPU a read costs nothing and every step is
    /// read (the progress display and metrics.jsonl show a step only once it is read). null: 1 on the CPU, 10 elsewhere.
    /// </summary>
    public int? ReadEvery { get; set; }
    /// <summary>
    /// Run the LM head and the loss on the scored positions only (CausalLmLoss.ComputeScored): the same mean over the
    /// same tokens without the [B, T, vocab] logits of the unscored image and prompt positions, which are a step's
    /// largest tensors on a GPU (5 GiB at batch 16 x 704 x 32064). Off by default: the sums then run in another order,
    /// so losses differ from the full-logits path in the last bits (resume stays exact either way).
    /// </summary>
    public bool ScoredLogitsOnly { get; set; }

    public int EffectiveReadEvery(TorchSharp.torch.Device device) => ReadEvery switch
    {
        null => device.type == TorchSharp.DeviceType.CPU ? 1 : 10,
        < 1 => throw new InvalidDataException($"read_every {ReadEvery} must be at least 1"),
        { } n => n,
    };
    /// <summary>
    /// When the native heap's free pages go back to the kernel: auto (when resident memory outgrows what a step
    /// needs by a quarter) | step (after every step) | never. Without releases glibc keeps what each step frees and
    /// resident memory climbs over a run (see NativeHeap, HeapReleasePolicy; measured costs in the README).
    /// </summary>
    public string ReleaseMemory { get; set; } = "auto";

    public HeapRelease ParsedReleaseMemory => ReleaseMemory.ToLowerInvariant() switch
    {
        "auto" => HeapRelease.Auto,
        "step" => HeapRelease.Step,
        "never" => HeapRelease.Never,
        _ => throw new InvalidDataException($"release_memory '{ReleaseMemory}' is not one of auto|step|never"),
    };
    public int Seed { get; set; }
    /// <summary>Recompute each decoder block in backward instead of keeping its activations.</summary>
    public bool GradientCheckpointing { get; set; }
    /// <summary>
    /// Train the CLIP tower too, in full, at optim.vision_lr (LLaVA-NeXT's unfreeze_mm_vision_tower). Off by
    /// default, as in LLaVA-1.5; with LoRA the tower's weights travel in the adapter as modules_to_save.
    /// </summary>
    public bool UnfreezeVisionTower { get; set; }
    /// <summary>The model's weights and compute dtype: float32 | bfloat16 | float16 (the frozen base is stored in it).</summary>
    public string Dtype { get; set; } = "float32";
    /// <summary>
    /// The dtype of what trains (LoRA A/B, the projector): its master weights, gradients and AdamW moments.
    /// null: see <see cref="EffectiveTrainableDtype"/>.
    /// </summary>
    public string? TrainableDtype { get; set; }
    /// <summary>
    /// torch.autocast's arithmetic for what trains under a half <see cref="Dtype"/> (transformers' Trainer with bf16=True
    /// running peft): the LoRA adapters and the projector compute in dtype, their weights cast at each forward, while
    /// their master weights, gradients and AdamW moments stay in trainable_dtype. Off (default): they compute in their
    /// own dtype (float32), which is more exact and, on a GPU, slower (float32 matmuls run at a fraction of bf16's
    /// rate; LoRA's are about 5% of a TinyLlama-shaped model's matmul work). No effect under dtype float32.
    /// </summary>
    public bool Autocast { get; set; }
    /// <summary>cpu | cuda | auto; under a launcher each rank takes cuda:LOCAL_RANK when this says cuda.</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Data-parallel training over the ranks a launcher started (mpirun, srun, torchrun); see docs/distributed.md.</summary>
    public DistributedSection Distributed { get; set; } = new();
    public string OutputDir { get; set; } = "runs/train";

    public TrainMethod ParsedMethod => Method.ToLowerInvariant() switch
    {
        "projector" => TrainMethod.Projector,
        "full" => TrainMethod.Full,
        "lora" => TrainMethod.Lora,
        "qlora" => TrainMethod.Qlora,
        _ => throw new InvalidDataException($"method '{Method}' is not one of projector|full|lora|qlora"),
    };

    /// <summary>Stage 1 always trains the projector alone (LLaVA's feature alignment).</summary>
    public TrainMethod EffectiveMethod => Stage == 1 ? TrainMethod.Projector : ParsedMethod;

    /// <summary>
    /// The template training uses: the recipe's; else stage 1's plain (captions only); else the model's own
    /// chat_template when its tokenizer folder has one; else LLaVA-1.5's vicuna_v1.
    /// </summary>
    public string EffectiveTemplate(string tokenizerDir) => Template ?? (Stage == 1 ? "plain"
        : ChatTemplateFiles.Find(tokenizerDir) is not null ? JinjaChatTemplate.CheckpointName : "vicuna_v1");

    /// <summary>
    /// Mixed precision as peft + transformers users get it: under a bf16/fp16 <see cref="Dtype"/> the trained
    /// parameters stay float32 (peft's autocast_adapter_dtype=True) while the frozen base runs in dtype.
    /// method full trains in dtype itself (transformers with torch_dtype=bfloat16: pure bf16 weights and
    /// AdamW), because everything but the frozen vision tower trains there.
    /// </summary>
    public string EffectiveTrainableDtype => TrainableDtype
        ?? (EffectiveMethod == TrainMethod.Full || !IsHalf(Dtype) ? Dtype : "float32");

    static bool IsHalf(string dtype) => dtype.Trim().ToLowerInvariant() is "bfloat16" or "bf16" or "float16" or "fp16" or "half";
}

public sealed class DistributedSection
{
    /// <summary>auto (none for one process, nccl for CUDA where libnccl loads, else mpi) | mpi | nccl | none.</summary>
    public string Backend { get; set; } = "auto";
    /// <summary>Seconds without a heartbeat after which a rank counts as lost and every other rank stops.</summary>
    public double HeartbeatTimeoutS { get; set; } = 30;
    /// <summary>Seconds one collective may wait (a rank alive but stuck) before the run stops, naming the late ranks.</summary>
    public double CollectiveTimeoutS { get; set; } = 1800;
    /// <summary>Gradient all-reduce bucket size in MiB (PyTorch DDP's bucket_cap_mb).</summary>
    public double BucketMb { get; set; } = 25;

    public MultiLora.Distributed.DistributedBackend ParsedBackend => MultiLora.Distributed.DistributedBackends.Parse(Backend);

    // methods, not properties: the recipe is written back to OUTPUT/recipe.yaml property by property
    public MultiLora.Distributed.Watchdog.WatchdogOptions WatchdogOptions() => MultiLora.Distributed.Watchdog.WatchdogOptions.Default with
    {
        HeartbeatTimeout = TimeSpan.FromSeconds(HeartbeatTimeoutS),
        CollectiveTimeout = TimeSpan.FromSeconds(CollectiveTimeoutS),
    };

    public long BucketBytes() => (long)(BucketMb * 1024 * 1024);
}

public sealed class ModelSection
{
    /// <summary>A llava checkpoint folder (or a previous stage's output).</summary>
    public string? Path { get; set; }
    /// <summary>Compose instead: CLIP folder + Llama folder (+ projector weights).</summary>
    public string? Vision { get; set; }
    public string? Language { get; set; }
    public string? Projector { get; set; }
    /// <summary>
    /// A built-in LLaVA size (<see cref="BuiltIn.BuiltInSizes"/>: micro | tiny | small) with fresh weights, written to
    /// OUTPUT/builtin-NAME on first use; for runs that start from scratch (a scaling grid's base pretraining).
    /// </summary>
    public string? Builtin { get; set; }
}

public sealed class DataSection
{
    /// <summary>A mixture (or single dataset) spec YAML.</summary>
    public string? Mixture { get; set; }
    /// <summary>Held-out dataset or mixture spec for the eval loss (with eval_every).</summary>
    public string? Eval { get; set; }
    /// <summary>At most this many held-out samples per evaluation.</summary>
    public int EvalSamples { get; set; } = 64;
    public int MaxLength { get; set; } = 2048;
    /// <summary>
    /// The share of text-only draws, overriding the mixture's text_mix (Lu et al. 2023's text-only mixing axis);
    /// 0 leaves the text datasets (kind: text) out. null: the mixture's own.
    /// </summary>
    public double? TextMix { get; set; }
    /// <summary>Image resolution (null: the tower's own).</summary>
    public int? Resolution { get; set; }
    public string Aspect { get; set; } = "pad";
    public int Workers { get; set; } = 1;
    /// <summary>LLaVA's group_by_modality_length: batches of one modality and similar length.</summary>
    public bool GroupByModalityLength { get; set; } = true;
}

public sealed class LoraSection
{
    public int Rank { get; set; } = 8;
    public double? Alpha { get; set; }
    public double Dropout { get; set; }
    public List<string> Targets { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    public bool Rslora { get; set; }

    /// <summary>The scaling study's convention: alpha = 2 x rank unless given.</summary>
    public double EffectiveAlpha => Alpha ?? 2.0 * Rank;
}

public sealed class QuantSection
{
    public string Type { get; set; } = "nf4";
    public bool DoubleQuant { get; set; } = true;
    public int BlockSize { get; set; } = 64;
}

public sealed class OptimSection
{
    public double Lr { get; set; } = 2e-4;
    /// <summary>The projector's learning rate in stage 2 (LLaVA-1.5 LoRA: 2e-5); null: same as lr.</summary>
    public double? ProjectorLr { get; set; }
    /// <summary>The vision tower's learning rate with unfreeze_vision_tower (LLaVA-NeXT: 2e-6); null: same as lr.</summary>
    public double? VisionLr { get; set; }
    public double WeightDecay { get; set; }
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
    public double Eps { get; set; } = 1e-8;
    public double WarmupRatio { get; set; } = 0.03;
    /// <summary>cosine | linear | constant (after warmup).</summary>
    public string Schedule { get; set; } = "cosine";
    public double MaxGradNorm { get; set; } = 1.0;
}
