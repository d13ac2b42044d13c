namespace MultiLora.Eval.Tasks;

/// <summary>
/// Built-in tasks (embedded YAML) plus user tasks from folders or files; a user task with a built-in's
/// name replaces it, so a user can adjust a benchmark without C#.
/// </summary>
public sealed class TaskCatalog
{
    const string ResourcePrefix = "MultiLora.Eval.Tasks.";
    readonly Dictionary<string, TaskDefinition> _tasks = new(StringComparer.Ordinal);

    public IReadOnlyCollection<TaskDefinition> All => _tasks.Values;

    public static TaskCatalog Load(IEnumerable<string>? userPaths = null)
    {
        var catalog = new TaskCatalog();
        var asm = typeof(TaskCatalog).Assembly;
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix) && n.EndsWith(".yaml")).Order())
        {
            using var reader = new StreamReader(asm.GetManifestResourceStream(res)!);
            catalog.Add(TaskYaml.Parse(reader.ReadToEnd(), "builtin:" + res[ResourcePrefix.Length..]));
        }
        foreach (var path in userPaths ?? [])
        {
            if (Directory.Exists(path))
                foreach (var file in Directory.EnumerateFiles(path).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml")).Order())
                    catalog.Add(TaskYaml.Parse(File.ReadAllText(file), file));
            else if (File.Exists(path)) catalog.Add(TaskYaml.Parse(File.ReadAllText(path), path));
            else throw new FileNotFoundException($"{path}: task file or folder not found", path);
        }
        return catalog;
    }

    void Add(TaskDefinition task) => _tasks[task.Name] = task;

    public TaskDefinition Get(string name) => _tasks.TryGetValue(name, out var t)
        ? t : throw new ArgumentException($"unknown task '{name}' (known: {string.Join(", ", _tasks.Keys.Order())})");
}
