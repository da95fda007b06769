// mp_dict_* entry points: being written.
