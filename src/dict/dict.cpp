// mp_dict_t: being written.
