"""What the kernel tables share: the device-independent half of every wrapper.

A wrapper of the CPU table (backend/cpu) and its twin in the CUDA table
(backend/cuda) check the same arguments with the same messages, compute the
same output shapes and pass the same op codes; only the memory differs
(numpy arrays and ``lib.mg_*`` there, CudaArrays and ``api.*`` here).  The
modules of this package hold that common half, one per kernel family:

    checks       dtype codes and checks, op-name lookup, naming an array in errors
    c_args       host int64_t[] arguments (shapes, strides) the C calls take
    concat       cat and stack as one strided copy per piece (the general case)
    elementwise  op tables, broadcasting, scalars and bounds, `out` checks, int64 rules
    linalg       gemm / matmul shape rules, batch broadcasting, `out` checks
    reductions   op tables, axis normalisation, the (outer, n, inner) split
    indexing     gather / scatter_add axis, shape and index-error rules
    loss         cross-entropy target / weight / label_smoothing checks
    optim        optimizer hyperparameter and state-array checks
    random       shape, dtype, seed / offset and distribution-parameter checks
    rnn          recurrent cell table and the layer's argument checks

They read only what ndarrays and CudaArrays have alike (``dtype``, ``shape``,
``strides``, ``flags``, ``reshape``); whether an argument lives on the right
device is the table's own check, made before these run.  Where a rule needs a
device operation (a contiguous copy, an overlap test), the table passes its
own function in.  Nothing here calls a kernel.
"""
