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

        var scorer = OneOf("scorer", TaskVocabulary.ScorerMetrics.Keys.ToHashSet());
        if (values["metrics"] is not YamlSequenceNode metricNodes)
            throw new InvalidDataException($"{origin}: key 'metrics' must be a list");
        var metrics = metricNodes.Children.Select(n => (n as YamlScalarNode)?.Value ?? "").ToList();
        foreach (var m in metrics)
            if (!TaskVocabulary.ScorerMetrics[scorer].Contains(m))
                throw new InvalidDataException($"{origin}: key 'metrics': scorer '{scorer}' has no metric '{m}' (it has: {string.Join(", ", TaskVocabulary.ScorerMetrics[scorer].Order())})");

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
            AnswerParser: OneOf("answer_parser", TaskVocabulary.AnswerParsers), Scorer: scorer, Metrics: metrics,
            MaxNewTokens: maxNew, Circular: circular, Origin: origin);
    }
}
