using System.Reflection;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace MultiLora.Lora.Surgery;

/// <summary>
/// Puts a new tensor in the place of a parameter, found by its state_dict name. This is how a model
/// built on the meta device (shapes and dtypes, no memory) receives its real weights one tensor at a
/// time: the loaded tensor itself becomes the parameter, so nothing is allocated twice or initialised.
/// </summary>
public static class ParameterSwap
{
    // TorchSharp's registry of a module's parameters is updated by this protected method (what its own
    // Module.to does for parameters held in fields); register_parameter refuses a name already taken.
    static readonly MethodInfo Register = typeof(Module).GetMethod("ConditionallyRegisterParameter",
            BindingFlags.Instance | BindingFlags.NonPublic, [typeof(string), typeof(Parameter)])
        ?? throw new MissingMethodException("TorchSharp's Module.ConditionallyRegisterParameter(string, Parameter) is gone: ParameterSwap needs updating for this TorchSharp version");

    /// <summary>
    /// Makes <paramref name="value"/> the parameter <paramref name="name"/> (e.g. "model.language_model.norm.weight")
    /// of <paramref name="root"/>; the previous tensor is disposed. <paramref name="value"/> is taken over
    /// (TorchSharp's Parameter moves its handle), so the caller must not dispose it.
    /// </summary>
    public static Parameter Set(Module root, string name, Tensor value, bool requiresGrad = true)
    {
        int dot = name.LastIndexOf('.');
        var owner = ModuleSurgery.Get(root, dot < 0 ? "" : name[..dot]);
        string leaf = name[(dot + 1)..];
        var parameter = new Parameter(value, requiresGrad);

        // TorchSharp's layers (Linear, LayerNorm, Conv2d, Embedding) have a setter that disposes the old
        // tensor and registers the new one (Embedding's also updates the native module that runs forward).
        var property = owner.GetType().GetProperty(leaf, BindingFlags.Instance | BindingFlags.Public);
        if (property is { CanWrite: true } && property.PropertyType.IsAssignableFrom(typeof(Parameter)))
        {
            property.SetValue(owner, parameter);
            return parameter;
        }
        // Our modules (RmsNorm, the CLIP class embedding) hold the parameter in a field of the same name.
        var field = FindField(owner.GetType(), leaf)
            ?? throw new ArgumentException($"parameter '{name}': {owner.GetType().Name} has no settable property or Parameter field '{leaf}'");
        var old = field.GetValue(owner) as Tensor;
        field.SetValue(owner, parameter);
        Register.Invoke(owner, [leaf, parameter]);
        old?.Dispose();
        return parameter;
    }

    static FieldInfo? FindField(Type type, string name)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            var f = t.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            if (f is not null && f.FieldType.IsAssignableFrom(typeof(Parameter))) return f;
        }
        return null;
    }
}
