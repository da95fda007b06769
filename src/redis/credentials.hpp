// The password of a redis:// address, never taken from the address itself
// (it would end up in logs, process lists and config files): from the file
// named by MULTIPROC_REDIS_PASSWORD_FILE, else MULTIPROC_REDIS_PASSWORD.
#pragma once

#include <string>

namespace mp::redis {

// *out: the password, "" when neither variable is set. MP_OK, or
// MP_EACCES when the file cannot be read (message names the variable,
// never the password).
int read_password(std::string *out);

// read_password(), and MP_EACCES when user (an ACL user named in the
// address) is not empty but no password is set.
int password_for(std::string *out, const std::string &user);

}  // namespace mp::redis
