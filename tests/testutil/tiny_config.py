"""The search config the Python tests share, as tests/testutil/tiny_config.h gives it to the C++
ones: a real transformer small enough that a candidate trains in a fraction of a second, on the
planted-offset task {-1, -3}. Each test varies only what it is about."""


def tiny_search_config(search_keys, parents=2, steps=15, training_keys="", extra_sections=""):
    """`search_keys`: the lines of [search] ("name = ...\\nseed = 5\\n..."); `parents` goes to
    [selection]; `steps` sets how long a candidate trains; `training_keys` adds lines to
    [training]; `extra_sections` (e.g. a [resampling] table) is appended whole."""
    return ("[search]\n" + search_keys.rstrip("\n") + "\n"
            "\n[selection]\nparents = %d\n"
            "\n[model]\nvocab_size = 8\nd_model = 16\nlayers = 2\nheads_per_layer = 3\n"
            "d_head = 4\nseq_len = 16\n"
            "\n[task]\nplanted_offsets = [-1, -3]\n"
            "\n[training]\nsteps = %d\nbatch_size = 8\neval_batches = 1\n%s"
            "\n[initial]\nwindow = 6\n%s") % (
                parents, steps, training_keys, ("\n" + extra_sections) if extra_sections else "")
