using System.Reflection.Metadata;

namespace MultiLora.Tools.ScalarScan;

/// <summary>A method that leaves a Scalar temporary to a native call, itself or through what it calls.</summary>
/// <param name="Path">the method, then each method it calls on the way to the one that makes the temporary</param>
/// <param name="Source">what makes the temporary in the last method (op_Implicit, ToScalar, ...)</param>
public sealed record Unsafe(IReadOnlyList<IlMethod> Path, IlMethod Source)
{
    public IlMethod Method => Path[0];
    public IlMethod Maker => Path[^1];
}

/// <summary>
/// The closure over the call graph: a method is unsafe when it makes a temporary Scalar itself, or calls,
/// constructs or takes a delegate to an unsafe method. Lambdas, local functions, iterators and async state
/// machines are reached through the ldftn/newobj that creates them (a method that constructs a
/// compiler-generated type reaches all of that type's methods). Virtual calls reach only the method named in
/// the IL, so overriding methods are judged on their own (see BannedSymbols: types with an unsafe override).
/// </summary>
public static class ScalarTemporaries
{
    public static IReadOnlyDictionary<MethodDefinitionHandle, Unsafe> Find(TorchSharpIl il)
    {
        var generatedTypes = il.Methods.Values.Where(m => m.IsCompilerGenerated && m.DeclaringType.Contains('<'))
            .GroupBy(m => m.DeclaringType).ToDictionary(g => g.Key, g => g.Select(m => m.Handle).ToList());
        var callers = new Dictionary<MethodDefinitionHandle, List<MethodDefinitionHandle>>();
        foreach (var m in il.Methods.Values)
            foreach (var callee in Reach(il, m, generatedTypes))
            {
                if (!callers.TryGetValue(callee, out var list)) callers[callee] = list = [];
                list.Add(m.Handle);
            }

        // breadth first from the makers of temporaries, so each method keeps a shortest path to one
        var found = new Dictionary<MethodDefinitionHandle, Unsafe>();
        var queue = new Queue<MethodDefinitionHandle>();
        foreach (var m in il.Methods.Values.Where(m => m.Temporaries.Count > 0).OrderBy(m => m.Token))
        {
            found[m.Handle] = new Unsafe([m], il.Methods[m.Temporaries[0]]);
            queue.Enqueue(m.Handle);
        }
        while (queue.Count > 0)
        {
            var callee = found[queue.Dequeue()];
            if (!callers.TryGetValue(callee.Method.Handle, out var list)) continue;
            foreach (var caller in list.OrderBy(h => il.Methods[h].Token))
            {
                if (found.ContainsKey(caller)) continue;
                found[caller] = new Unsafe([il.Methods[caller], .. callee.Path], callee.Source);
                queue.Enqueue(caller);
            }
        }
        return found;
    }

    static IEnumerable<MethodDefinitionHandle> Reach(TorchSharpIl il, IlMethod m, Dictionary<string, List<MethodDefinitionHandle>> generatedTypes)
    {
        foreach (var callee in m.Callees)
        {
            yield return callee;
            var target = il.Methods[callee];
            if (target.Name == ".ctor" && target.DeclaringType != m.DeclaringType && generatedTypes.TryGetValue(target.DeclaringType, out var members))
                foreach (var member in members) yield return member;
        }
    }
}
