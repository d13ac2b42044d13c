using YamlDotNet.RepresentationModel;

namespace MultiLora.Eval.Tasks;

/// <summary>Parses and validates one task YAML; every error names the file and the key.</summary>
public static class TaskYaml
{
    public static TaskDefinition Parse(string yaml, string origin)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlDotNet.Core.YamlException e) { throw new InvalidDataException($"{origin}: invalid YAML ({e.Message})", e); }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{origin}: a task file must hold one mapping of keys");

        var values = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in root.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!TaskVocabulary.Keys.Contains(key))
                throw new InvalidDataException($"{origin}: unknown key '{key}' (known: {string.Join(", ", TaskVocabulary.Keys.Order())})");
            values[key] = v;
        }
        foreach (var required in TaskVocabulary.RequiredKeys)
            if (!values.ContainsKey(required)) throw new InvalidDataException($"{origin}: missing required key '{required}'");

        string? Str(string key) => values.TryGetValue(key, out var node)
            ? node is YamlScalarNode s ? s.Value : throw new InvalidDataException($"{origin}: key '{key}' must be a single value")
            : null;
        string OneOf(string key, IReadOnlySet<string> allowed)
        {
            var v = Str(key)!;
            return allowed.Contains(v) ? v : throw new InvalidDataException($"{origin}: key '{key}' has unknown value '{v}' (known: {string.Join(", ", allowed.Order())})");
        }

        var scorer = OneOf("scorer", TaskVocabulary.Scorers.Keys.ToHashSet());
        var spec = TaskVocabulary.Scorers[scorer];
        if (values["metrics"] is not YamlSequenceNode metricNodes)
            throw new InvalidDataException($"{origin}: key 'metrics' must be a list");
        var metrics = metricNodes.Children.Select(n => (n as YamlScalarNode)?.Value ?? "").ToList();
        foreach (var m in metrics)
            if (!spec.Metrics.Contains(m))
                throw new InvalidDataException($"{origin}: key 'metrics': scorer '{scorer}' has no metric '{m}' (it has: {string.Join(", ", spec.Metrics.Order())})");
        var parser = values.ContainsKey("answer_parser") ? OneOf("answer_parser", TaskVocabulary.AnswerParsers) : null;
        if (spec.EmbodiedParser is null && parser is null)
            throw new InvalidDataException($"{origin}: scorer '{scorer}' needs key 'answer_parser'");
        if (spec.EmbodiedParser is { } embodied && parser is not null && parser != embodied)
            throw new InvalidDataException($"{origin}: key 'answer_parser': scorer '{scorer}' parses replies as its reference script does ('{embodied}'); remove 'answer_parser' or pick a generic scorer");

        var maxNew = TaskVocabulary.DefaultMaxNewTokens;
        if (Str("max_new_tokens") is { } mnt && (!int.TryParse(mnt, out maxNew) || maxNew <= 0))
            throw new InvalidDataException($"{origin}: key 'max_new_tokens' must be a positive integer, got '{mnt}'");
        var circular = false;
        if (Str("circular") is { } circ && !bool.TryParse(circ, out circular))
            throw new InvalidDataException($"{origin}: key 'circular' must be true or false, got '{circ}'");

        var suffix = Str("suffix");
        if (suffix is not null && TaskVocabulary.SuffixAliases.TryGetValue(suffix, out var expanded)) suffix = expanded;
        var prompt = Str("prompt")!;
        PromptTemplate.Validate(prompt, origin);

        return new TaskDefinition(
            Name: Str("name")!, Description: Str("description") ?? "", Format: OneOf("format", TaskVocabulary.Formats),
            Data: Str("data")!, ImageRoot: Str("image_root"), References: Str("references"), Context: Str("context"),
            Annotations: Str("annotations"), Prompt: prompt, Suffix: string.IsNullOrEmpty(suffix) ? null : suffix,
            AnswerParser: parser ?? spec.EmbodiedParser, Scorer: scorer, Metrics: metrics,
            MaxNewTokens: maxNew, Circular: circular, Origin: origin,
            Reproduces: values.TryGetValue("reproduces", out var rep) ? ParseReproduces(rep, origin) : []);
    }

    /// <summary><c>reproduces</c>: one mapping or a list of mappings {repository, commit, files}.</summary>
    static List<ReferenceImplementation> ParseReproduces(YamlNode node, string origin)
    {
        var entries = node switch
        {
            YamlMappingNode m => [m],
            YamlSequenceNode seq => seq.Children.Select(c => c as YamlMappingNode
                ?? throw new InvalidDataException($"{origin}: key 'reproduces': each entry must be a mapping of repository, commit, files")).ToList(),
            _ => throw new InvalidDataException($"{origin}: key 'reproduces' must be a mapping (repository, commit, files) or a list of them"),
        };
        return entries.Select(e =>
        {
            var fields = new Dictionary<string, YamlNode>();
            foreach (var (k, v) in e.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (!TaskVocabulary.ReproducesKeys.Contains(key))
                    throw new InvalidDataException($"{origin}: key 'reproduces': unknown key '{key}' (known: {string.Join(", ", TaskVocabulary.ReproducesKeys.Order())})");
                fields[key] = v;
            }
            string Field(string key) => fields.TryGetValue(key, out var v) && v is YamlScalarNode { Value: { Length: > 0 } s } ? s
                : throw new InvalidDataException($"{origin}: key 'reproduces': each entry needs '{key}'");
            var files = fields.TryGetValue("files", out var f) ? f switch
            {
                YamlSequenceNode seq => seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "").ToList(),
                YamlScalarNode one => [one.Value ?? ""],
                _ => [],
            } : [];
            if (files.Count == 0 || files.Any(x => x.Length == 0)) throw new InvalidDataException($"{origin}: key 'reproduces': each entry needs 'files'");
            return new ReferenceImplementation(Field("repository"), Field("commit"), files);
        }).ToList();
    }
}
