namespace MultiLora.Sweeps.Grid;

/// <summary>One axis of a grid: a recipe key as --set spells it and the values it takes, in the grid's order.</summary>
public sealed record Axis(string Key, IReadOnlyList<string> Values);

/// <summary>A cell: axis key -> value (as written in the grid), in the grid's axis order.</summary>
public sealed record CellAxes(IReadOnlyList<KeyValuePair<string, string>> Values)
{
    /// <summary>The registry's and the command line's name of the cell: "method=lora,lora.rank=64".</summary>
    public string Key => string.Join(",", Values.Select(kv => $"{kv.Key}={kv.Value}"));

    public string? Get(string key) => Values.FirstOrDefault(kv => kv.Key == key).Value;

    public IEnumerable<string> Overrides => Values.Select(kv => $"{kv.Key}={kv.Value}");

    /// <summary>True when every key of <paramref name="pattern"/> has the same value here (an exclude entry).</summary>
    public bool Matches(IReadOnlyDictionary<string, string> pattern) => pattern.All(kv => Get(kv.Key) == kv.Value);
}

/// <summary>What each cell is scored on after training.</summary>
public sealed record EvalSpec(IReadOnlyList<string> Tasks, string DataRoot, int? Limit, int BatchSize, IReadOnlyList<string> TaskPaths);

/// <summary>Where runs go: local (one after another, or N at a time on N devices) or an sbatch array job on Slurm.</summary>
public sealed record LauncherSpec
{
    public const string Local = "local";
    public const string Slurm = "slurm";

    public string Type { get; init; } = Local;
    /// <summary>Local: runs at once (each gets one device: CUDA_VISIBLE_DEVICES=slot when the recipe's device is cuda).</summary>
    public int Parallel { get; init; } = 1;
    /// <summary>Devices one run uses (device-hours = wall x devices).</summary>
    public int Devices { get; init; } = 1;
    public string? Partition { get; init; }
    public int Gpus { get; init; }
    public int? Cpus { get; init; }
    public string? Memory { get; init; }
    public string? Time { get; init; }
    /// <summary>Lines added to every sbatch script as written ("#SBATCH --account=x", "module load cuda").</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];
}

/// <summary>The built-in synthetic data a toy grid prepares before its first run (see QuickstartRunner.PrepareData).</summary>
public sealed record SyntheticDataSpec(string Out, int Resolution, int Train, int Eval, int Seed);

/// <summary>A grid file, validated, with every path absolute.</summary>
public sealed record GridSpec
{
    public required string File { get; init; }
    public required string Name { get; init; }
    public required string Recipe { get; init; }
    public string? Stage1Recipe { get; init; }
    public string? BaseRecipe { get; init; }
    public required string Workspace { get; init; }
    public required IReadOnlyList<Axis> Axes { get; init; }
    public IReadOnlyList<CellAxes> Include { get; init; } = [];
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Exclude { get; init; } = [];
    /// <summary>Axes that decide the base run (default: the model.* axes).</summary>
    public required IReadOnlyList<string> BaseAxes { get; init; }
    /// <summary>Axes that decide the stage-1 run (default: the model.* axes and data.resolution).</summary>
    public required IReadOnlyList<string> Stage1Axes { get; init; }
    public EvalSpec? Eval { get; init; }
    public LauncherSpec Launcher { get; init; } = new();
    public SyntheticDataSpec? SyntheticData { get; init; }

    public string Folder => Path.GetDirectoryName(File)!;
    public string RegistryPath => Path.Combine(Workspace, "runs.db");
}
